"""Process entry points (the ``modelmon`` CLI), settings loading and the one-machine stack."""

__all__: list[str] = []
