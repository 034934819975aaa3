"""Behaviour-to-policy generators: the method interface, Make-An-Agent and the controls.

Importing the package registers the in-repo generators in `generators.base.METHODS`.
"""
from generators import registry_entries  # noqa: F401  (fills METHODS)
