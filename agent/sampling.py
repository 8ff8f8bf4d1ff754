"""Which calls are captured: a fraction chosen deterministically by request id.

The same request id is always in or out, whichever pod or retry sees it (so a prediction and its
later label agree), and the chosen share is uniform over ids: a 64-bit BLAKE2b of the id compared
with ``fraction · 2⁶⁴``. Calls that are not captured are still counted.
"""

from __future__ import annotations

import hashlib

__all__ = ["Sampler"]

_SCALE = 1 << 64


class Sampler:
    """``sampler(request_id)`` is True for the captured ``fraction`` of ids (0 to 1)."""

    def __init__(self, fraction: float) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"sampling fraction must be in [0, 1], not {fraction}")
        self.fraction = fraction
        self._bound = int(fraction * _SCALE)

    def __call__(self, request_id: str) -> bool:
        if self.fraction >= 1.0:
            return True
        digest = hashlib.blake2b(request_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(digest, "big") < self._bound
