"""Benchmark harness for behaviour-to-policy generation (run as `python -m benchmark`)."""
