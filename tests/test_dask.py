"""The Dask backend: partitions fitted on a LocalCluster give the single-process table."""

import numpy as np
import pandas as pd
import pytest

import lawfit
from lawfit.data import InputError

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(4)
    sizes = rng.integers(8, 16, 9)
    g = np.repeat(np.arange(9), sizes)
    x = 10 ** rng.uniform(6, 11, g.size)
    y = (1.5 + 40.0 * x ** -(0.15 + 0.02 * g)) * np.exp(0.01 * rng.standard_normal(g.size))
    return pd.DataFrame({"g": g, "x": x, "y": y})


@pytest.mark.slow
def test_dask_local_cluster_matches_single_process_and_resumes(frame, tmp_path):
    options = {"by": "g", "bootstrap": 20, "seed": 5}
    local = lawfit.fit(frame, "power_law", "x", "y", **options).params
    ddf = dd.from_pandas(frame.sample(frac=1.0, random_state=0), npartitions=3)
    out = tmp_path / "params"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, \
            distributed.Client(cluster):
        remote = lawfit.fit(ddf, "power_law", "x", "y", out=out, **options).compute()
        written = sorted(out.glob("part-*.parquet"))
        mtimes = [p.stat().st_mtime_ns for p in written]
        lawfit.fit(ddf, "power_law", "x", "y", out=out, **options)  # resumes: nothing refit
        assert [p.stat().st_mtime_ns for p in written] == mtimes
    remote = remote.sort_values("g").reset_index(drop=True)
    assert list(remote.columns) == list(local.columns)
    text = [c for c in local.columns if not pd.api.types.is_numeric_dtype(local[c])]
    pd.testing.assert_frame_equal(remote[text].astype(str), local[text].astype(str))
    # Same fits; a group's batch mates change padded shapes, so sums round differently and
    # the screen may hand a different one of several near-tied starts to the polish: the
    # optimum agrees to rounding, its step count (the winner's path) need not. A bootstrap
    # quantile at E's bound 0 is ~1e-10 in both runs (rounding), hence the atol.
    numbers = [c for c in local.columns if c not in text and c != "steps"]
    np.testing.assert_allclose(remote[numbers].to_numpy(float), local[numbers].to_numpy(float),
                               rtol=1e-6, atol=1e-8)
    with pytest.raises(InputError, match=r"out:.*other data or options"):
        lawfit.fit(ddf, "power_law", "x", "y", out=out, by="g", bootstrap=21)


def test_dask_fit_needs_by_and_out(frame, tmp_path):
    ddf = dd.from_pandas(frame, npartitions=2)
    with pytest.raises(InputError, match="by:"):
        lawfit.fit(ddf, "power_law", "x", "y", out=tmp_path / "p")
    with pytest.raises(InputError, match="out:"):
        lawfit.fit(ddf, "power_law", "x", "y", by="g")


def test_dask_splits_a_large_partition_by_rows(frame, tmp_path, monkeypatch):
    """One input partition of ~100 rows, PARTITION_ROWS 40: the shuffle makes >= 3 partitions,
    each fitted and written apart, and every group is fitted once."""
    import dask

    from lawfit.fitting import _dask

    monkeypatch.setattr(_dask, "PARTITION_ROWS", 40)
    ddf = dd.from_pandas(frame, npartitions=1)
    out = tmp_path / "params"
    with dask.config.set(scheduler="synchronous"):
        remote = lawfit.fit(ddf, "power_law", "x", "y", by="g", out=out).compute()
    assert len(list(out.glob("part-*.parquet")) + list(out.glob("_empty-part-*"))) >= -(-len(frame) // 40)
    assert sorted(remote["g"]) == sorted(frame["g"].unique())
    local = lawfit.fit(frame, "power_law", "x", "y", by="g").params
    remote = remote.sort_values("g").reset_index(drop=True)
    np.testing.assert_allclose(remote["alpha"], local["alpha"], rtol=1e-6)
