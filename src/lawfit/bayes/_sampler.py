"""Sampler settings: what :func:`lawfit.bayes.posterior` draws with, as one validated object.

Like NumPyro's ``NUTS(...)`` kernel or an optimistix solver, a setting carries its own options
and checks them where it is built, so a bad value is an error naming the option and a
misspelled one is Python's own ``TypeError`` at the call that names it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lawfit.data import InputError

__all__ = ["DEFAULT_NUTS", "MAX_TREE_DEPTH", "NUTS", "Laplace", "Sampler", "check_sampler"]

#: Deepest NUTS tree accepted (2^15 leapfrog steps per draw).
MAX_TREE_DEPTH = 15


def _check_count(name: str, value, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InputError(f"{name} must be an integer of at least {least}; got {value!r}")


@dataclass(frozen=True)
class NUTS:
    """No-U-Turn sampling (Hoffman & Gelman 2014, NumPyro's multinomial variant with a dense
    mass matrix), whitened by each posterior's Laplace approximation.

    Attributes:
        chains: chains per posterior (independent starts from the Laplace approximation).
        warmup: adaptation iterations per chain (step size and mass matrix).
        samples: draws kept per chain (at least 2).
        target_accept: the step-size adaptation's target acceptance rate, in (0, 1).
        max_tree_depth: at most 2^depth - 1 leapfrog steps per draw, from 1 to 15.
    """

    chains: int = 4
    warmup: int = 500
    samples: int = 500
    target_accept: float = 0.9
    max_tree_depth: int = 8

    def __post_init__(self):
        _check_count("chains", self.chains, 1)
        _check_count("warmup", self.warmup, 1)
        _check_count("samples", self.samples, 2)
        if not (isinstance(self.max_tree_depth, int) and not isinstance(self.max_tree_depth, bool)
                and 1 <= self.max_tree_depth <= MAX_TREE_DEPTH):
            raise InputError(
                f"max_tree_depth must be an integer from 1 to {MAX_TREE_DEPTH} (at most "
                f"2^depth leapfrog steps per draw); got {self.max_tree_depth!r}")
        if not (isinstance(self.target_accept, (int, float)) and 0 < self.target_accept < 1):
            raise InputError(f"target_accept must be in (0, 1); got {self.target_accept!r}")


@dataclass(frozen=True)
class Laplace:
    """Independent draws from each posterior's Laplace approximation N(mode, H^-1) (Laplace
    1774; MacKay 2003, ch. 27): fast, for a first look; its intervals are not calibrated.

    Attributes:
        chains, samples: the draws' shape per posterior, (chains, samples), as for
            :class:`NUTS` (the draws are independent, so chains only split them).
    """

    chains: int = 4
    samples: int = 500

    def __post_init__(self):
        _check_count("chains", self.chains, 1)
        _check_count("samples", self.samples, 2)


Sampler = NUTS | Laplace

#: NUTS with its default settings, the default sampler of posteriors and forecasts.
DEFAULT_NUTS = NUTS()


def check_sampler(sampler, *, allowed: tuple[type, ...] = (NUTS, Laplace)) -> None:
    """Raise :class:`InputError` unless ``sampler`` is one of the ``allowed`` settings."""
    if not isinstance(sampler, allowed):
        names = " or ".join(f"lawfit.bayes.{kind.__name__}(...)" for kind in allowed)
        raise InputError(f"sampler must be {names}; got {sampler!r}")
