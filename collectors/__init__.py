"""modelmon collectors: arrives with its issue (see the issue tracker)."""

__all__: list[str] = []
