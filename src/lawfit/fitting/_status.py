"""Per-fit outcome codes: a batch reports a status for each fit instead of raising."""

from __future__ import annotations

import enum

__all__ = ["Status"]


class Status(enum.IntEnum):
    """Why a fit stopped. Kernels return the integer; tables show :attr:`label`."""

    CONVERGED = 0
    MAX_STEPS = 1
    NONFINITE = 2
    STALLED = 3
    INVALID_INPUT = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def message(self) -> str:
        return _MESSAGES[self]

    @property
    def ok(self) -> bool:
        """True for a usable optimum."""
        return self is Status.CONVERGED


_MESSAGES = {
    Status.CONVERGED: "a tolerance was met",
    Status.MAX_STEPS: "the step cap was reached before any tolerance was met",
    Status.NONFINITE: "the objective or its derivatives were not finite at every start",
    Status.STALLED: "no step reduced the objective, although no tolerance was met",
    Status.INVALID_INPUT: "not fitted: the group's data failed validation",
}
