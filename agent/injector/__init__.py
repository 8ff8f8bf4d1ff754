"""The sidecar injector: a mutating admission webhook that adds the agent to annotated pods."""

from agent.injector.annotations import INJECT, STATUS, InjectionRequest, InvalidAnnotations, read_request
from agent.injector.catalog_entry import CatalogEntries
from agent.injector.defaults import DefaultsFile, InjectionDefaults, parse_defaults
from agent.injector.patch import AGENT_CONTAINER, agent_container, injection_patch
from agent.injector.review import OUTCOMES, ReviewError, admit
from agent.injector.server import InjectorServer

__all__ = [
    "AGENT_CONTAINER",
    "INJECT",
    "OUTCOMES",
    "STATUS",
    "CatalogEntries",
    "DefaultsFile",
    "InjectionDefaults",
    "InjectionRequest",
    "InjectorServer",
    "InvalidAnnotations",
    "ReviewError",
    "admit",
    "agent_container",
    "injection_patch",
    "parse_defaults",
    "read_request",
]
