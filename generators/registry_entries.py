"""In-repo entries of the METHODS registry for the generators (lazy "module:attr" strings, so
listing names imports nothing heavy). Importing `generators` imports this module."""
from generators.base import METHODS

METHODS.add("make-an-agent", "generators.make_an_agent.model:MakeAnAgent")
METHODS.add("nearest-checkpoint", "generators.controls:NearestCheckpoint")
METHODS.add("noisy-checkpoint", "generators.controls:NoisyCheckpoint")
METHODS.add("mean-checkpoint", "generators.controls:MeanCheckpoint")
