"""Registry entries of the baselines and bounds: where each class lives and how reports show it.

pyproject.toml's entry points ("benchmark.generators") name these objects; importing this
module imports no torch code.
"""
from benchmark.api import MethodEntry

MTBC = MethodEntry("baselines.mtbc:MultiTaskBC", display="Multi-task BC", rank=2)
CARE = MethodEntry("baselines.care:CARE", display="CARE", rank=3)
HYPERNET = MethodEntry("baselines.hypernet:HyperNetwork", display="offline hypernetwork (AWR)", rank=4)
DT = MethodEntry("baselines.dt:DecisionTransformer", display="Decision Transformer", rank=5)
EXPERT = MethodEntry("baselines.bounds:ScriptedExpert", display="scripted expert", rank=12)
RANDOM = MethodEntry("baselines.bounds:RandomPolicy", display="random actions", rank=13)
