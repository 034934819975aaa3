"""Compatibility alias: the method contract lives in `benchmark.api` (import it from there)."""
from benchmark.api import (  # re-exported for plug-ins written against the old path
    METHODS,
    Actor,
    ActorProposal,
    Method,
    ParameterProposal,
    Proposal,
    config_from_dict,
    config_to_dict,
)

__all__ = ["METHODS", "Actor", "ActorProposal", "Method", "ParameterProposal", "Proposal",
           "config_from_dict", "config_to_dict"]
