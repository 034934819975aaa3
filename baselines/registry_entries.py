"""Registers the four baselines in the method registry by lazy "module:attr" targets.

Importing this module imports no torch code; `METHODS.get("mtbc")` imports baselines.mtbc.
"""
from generators.base import METHODS

METHODS.add("mtbc", "baselines.mtbc:MultiTaskBC")
METHODS.add("care", "baselines.care:CARE")
METHODS.add("hypernet", "baselines.hypernet:HyperNetwork")
METHODS.add("dt", "baselines.dt:DecisionTransformer")
METHODS.add("expert", "baselines.bounds:ScriptedExpert")
METHODS.add("random", "baselines.bounds:RandomPolicy")
