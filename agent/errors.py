"""The agent package's exception tree: every error it raises derives from ``AgentError``."""

from __future__ import annotations

__all__ = [
    "AgentError",
    "CatalogError",
    "CatalogProblem",
    "ConfigError",
    "EncodeError",
    "PublisherClosedError",
]


class AgentError(Exception):
    """Base of every error raised by the ``agent`` package."""


class ConfigError(AgentError):
    """A setting is missing or invalid."""


class CatalogError(ConfigError):
    """The model catalog is invalid. ``problems`` lists every problem found, each naming model and field."""

    def __init__(self, problems: list[CatalogProblem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{where}invalid model catalog ({len(problems)} problem(s)):\n{lines}")


class CatalogProblem:
    """One problem in a catalog: which model, which field, what was expected, what was found."""

    __slots__ = ("expected", "field", "found", "model")

    def __init__(self, model: str | None, field: str, expected: str, found: object) -> None:
        self.model = model
        self.field = field
        self.expected = expected
        self.found = found

    def __str__(self) -> str:
        who = f"model {self.model}" if self.model else "catalog"
        return f"{who}, field '{self.field}': expected {self.expected}, found {self.found!r}"

    def __repr__(self) -> str:
        return f"CatalogProblem({self})"


class EncodeError(AgentError):
    """A batch cannot be encoded in the wire format (wrong columns or types)."""


class PublisherClosedError(AgentError):
    """The publisher was closed; it accepts no more batches."""
