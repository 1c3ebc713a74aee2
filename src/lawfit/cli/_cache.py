"""JAX's persistent compilation cache for the command line.

Every ``lawfit`` command runs in a fresh process, so without a cache each one re-compiles the
fitting and sampling kernels (tens of seconds on a CPU). JAX can keep compiled executables on
disk (``jax_compilation_cache_dir``), keyed by the program, its shapes, the JAX version and
the device; a later command with the same shapes loads them instead. The cache lives in
``$LAWFIT_COMPILE_CACHE`` (default ``$XDG_CACHE_HOME/lawfit/jax``, i.e. ``~/.cache/lawfit/jax``);
setting that variable to ``off`` disables it. It is set through the environment variables
JAX reads when it is imported, so the entry point does not import jax (``lawfit --help`` stays
fast).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

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
    """Point JAX's persistent compilation cache at :func:`cache_dir` (before any compile):
    ``JAX_COMPILATION_CACHE_DIR`` and, unless set, ``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS``
    for a jax imported later; the same flags directly if jax is already imported."""
    path = cache_dir()
    if path is None:
        return None
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(path)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", str(MIN_COMPILE_SECONDS))
    if "jax" in sys.modules:
        import jax

        jax.config.update("jax_compilation_cache_dir", str(path))
        jax.config.update("jax_persistent_cache_min_compile_time_secs",
                          float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))
    return path
