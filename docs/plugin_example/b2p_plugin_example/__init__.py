"""A worked example of a third-party generator plug-in (see README.md)."""
