"""lawfit's precision policy, in one place.

* lawfit never changes JAX's global x64 flag (``jax_enable_x64``).
* Each public entry point that computes with JAX (:func:`lawfit.fit`, ``fit_batch``'s callers,
  ``posterior``, ``forecast``, ``estimate``, ...) takes a ``precision`` (``"float64"`` by default)
  and runs its JAX work inside :func:`computing` of it; internal functions do not toggle.
* Arrays at the pandas boundary (inputs read from tables, outputs written to tables) are
  float64 NumPy arrays whatever the precision.

``"float64"`` is the default because fits of scaling laws compare objectives that differ in
the eighth digit (near-ties between starts); ``"float32"`` is faster on accelerators.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax
import jax.numpy as jnp

__all__ = ["PRECISIONS", "computing", "dtype_of"]

#: The precision names lawfit accepts.
PRECISIONS = ("float64", "float32")


def _check(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'float64' or 'float32'; got {precision!r}")


def dtype_of(precision: str):
    """The JAX float dtype of ``precision``."""
    _check(precision)
    return jnp.float64 if precision == "float64" else jnp.float32


@contextlib.contextmanager
def computing(precision: str) -> Iterator[None]:
    """Run the enclosed JAX work at ``precision``: ``jax.enable_x64`` on for ``"float64"``,
    off for ``"float32"``; the global flag is left as it was."""
    _check(precision)
    with jax.enable_x64(precision == "float64"):
        yield
