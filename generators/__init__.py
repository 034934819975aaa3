"""Behaviour-to-policy generators: Make-An-Agent and the memorisation controls.

They implement `benchmark.api.Method`; the harness finds them through the entry points of
pyproject.toml (entries in `generators.registry_entries`)."""
