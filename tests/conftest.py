"""Shared test set-up: float64 everywhere (as optimistix's tests do), no compilation cache
for subprocesses, and shared data."""

import os

import jax

jax.config.update("jax_enable_x64", True)
# commands run as subprocesses do not write to the user's compilation cache (tests that
# check the cache give their own folder)
os.environ.setdefault("LAWFIT_COMPILE_CACHE", "off")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import lawfit  # noqa: E402


@pytest.fixture(scope="session")
def chinchilla_frame() -> pd.DataFrame:
    """Epoch AI's 240 Chinchilla points (5 outliers dropped), columns N, D, C, loss."""
    return lawfit.load("chinchilla")


@pytest.fixture(scope="session")
def rng() -> np.random.Generator:
    return np.random.default_rng(20250101)


@pytest.fixture(scope="module", autouse=True)
def _release_compiled_programs():
    """Drop JAX's compiled programs after each test module. Every CPU executable holds its
    own memory mappings; one process compiling the whole suite's programs would pass the
    kernel's ``vm.max_map_count`` (65,530) and XLA would crash mid-compile."""
    yield
    jax.clear_caches()
    for cached in _lru_caches():
        cached.cache_clear()


def _lru_caches():
    from lawfit.bayes import _hierarchical_model, _laplace, _model, _nuts

    return [getattr(module, name) for module in (_hierarchical_model, _laplace, _model, _nuts)
            for name in dir(module) if hasattr(getattr(module, name), "cache_clear")]
