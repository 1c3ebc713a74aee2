"""JAX's persistent compilation cache for the command line.

Every ``lawfit`` command runs in a fresh process, so without a cache each one re-compiles the
fitting and sampling kernels (tens of seconds on a CPU). JAX can keep compiled executables on
disk (``jax_compilation_cache_dir``), keyed by the program, its shapes, the JAX version and
the device; a later command with the same shapes loads them instead. The cache lives in
``$LAWFIT_COMPILE_CACHE`` (default ``$XDG_CACHE_HOME/lawfit/jax``, i.e. ``~/.cache/lawfit/jax``);
setting that variable to ``off`` disables it.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

__all__ = ["cache_dir", "use_compilation_cache"]

#: Only programs that take at least this long to compile are stored (the small eager ops
#: compile in milliseconds and would only clutter the cache); JAX's own
#: ``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS`` overrides it.
MIN_COMPILE_SECONDS = 0.5


def cache_dir() -> Path | None:
    """Where the command line keeps compiled programs; ``None`` when disabled."""
    setting = os.environ.get("LAWFIT_COMPILE_CACHE", "").strip()
    if setting.lower() == "off":
        return None
    if setting:
        return Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lawfit" / "jax"


def use_compilation_cache() -> Path | None:
    """Point JAX's persistent compilation cache at :func:`cache_dir` (before any compile)."""
    path = cache_dir()
    if path is not None:
        jax.config.update("jax_compilation_cache_dir", str(path))
        if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:  # JAX's own setting
            jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return path
