"""Reliability: invalid groups are skipped without touching the others, failing fits become
statuses, ill-conditioned fits warn, float32 holds at Chinchilla scale, reruns are identical,
writes are atomic and an interrupted bulk fit resumes to the uninterrupted result."""

import os
import re
import warnings

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import lawfit
from lawfit import InputError, Law, Param
from lawfit.data import read_table, write_table
from lawfit.fitting import _chunked
from lawfit.fitting._diagnostics import IllConditionedWarning

POWER = dict(E=1.5, A=50.0, alpha=0.2)
ONE_START = np.array([[1.0, 30.0, 0.3]])  # power_law (E, A, alpha): one start, one LM run
FITTED = ["E", "A", "alpha", "objective", "status", "steps", "n_points", "n_converged", "message"]


def power_groups(n_groups: int, seed: int = 0) -> pd.DataFrame:
    """n_groups power-law groups of 6 to 8 points each, parameters varying by group,
    multiplicative noise of 1%."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(6, 9, n_groups)
    group = np.repeat(np.arange(n_groups), sizes)
    x = np.concatenate([np.logspace(6, 10, n) for n in sizes])
    e = 1.2 + 0.6 * rng.random(n_groups)
    a = 30.0 + 40.0 * rng.random(n_groups)
    alpha = 0.15 + 0.15 * rng.random(n_groups)
    y = (e[group] + a[group] * x ** -alpha[group]) * np.exp(0.01 * rng.standard_normal(len(x)))
    return pd.DataFrame({"group": group, "x": x, "y": y})


def poison(frame: pd.DataFrame, groups: np.ndarray) -> pd.DataFrame:
    """One kind of damage per poisoned group, cycling through NaN, text, zero and negative
    inputs, y <= 0, infinity, a duplicated row, too few points and a constant input."""
    frame = frame.astype({"x": object, "y": object}).copy()
    drop = []
    for i, g in enumerate(groups):
        rows = np.flatnonzero(frame["group"].to_numpy() == g)
        kind = i % 9
        if kind == 0:
            frame.loc[rows[1], "y"] = np.nan
        elif kind == 1:
            frame.loc[rows[2], "x"] = "12 tokens"
        elif kind == 2:
            frame.loc[rows[0], "x"] = 0.0
        elif kind == 3:
            frame.loc[rows[3], "x"] = -1e9
        elif kind == 4:
            frame.loc[rows[0], "y"] = 0.0
        elif kind == 5:
            frame.loc[rows[1], "x"] = np.inf
        elif kind == 6:
            frame.loc[rows[1], ["x", "y"]] = frame.loc[rows[0], ["x", "y"]].to_numpy()
        elif kind == 7:
            drop.extend(rows[2:])
        else:
            frame.loc[rows, "x"] = 1e8
    return frame.drop(index=drop).reset_index(drop=True)


# --- on_invalid="skip" ------------------------------------------------------------------

N_GROUPS = 10_000


@pytest.fixture(scope="module")
def big_batch():
    clean = power_groups(N_GROUPS)
    bad = np.random.default_rng(1).choice(N_GROUPS, N_GROUPS // 100, replace=False)
    return clean, np.sort(bad), poison(clean, np.sort(bad))


def test_skip_leaves_good_groups_exactly_as_without_the_poisoned_ones(big_batch):
    """10,000 groups, 1% poisoned: the 9,900 good fits equal (bitwise) a fit of the good
    groups alone, and the poisoned ones are reported as invalid_input with a reason.

    The two calls share no kernel-call layout: the mixed fit runs 1,000 groups per call
    (padded to 1,024), the clean one 1,536 (padded to 2,048), so a good group meets other
    neighbours, another slot and other padding in each. A batch-dependent kernel fails this
    test: adding 1e-12 times the call's mean log target to every target in fit_batch (a
    term that depends on which groups share the call) makes it fail on the first group.
    """
    clean, bad, poisoned = big_batch
    kw = dict(by="group", loss="log-mse", starts=ONE_START, on_invalid="skip")
    mixed = lawfit.fit(poisoned, "power_law", "x", "y", chunk=1000, **kw).params
    good = clean[~clean["group"].isin(bad)]
    alone = lawfit.fit(good, "power_law", "x", "y", chunk=1536, **kw).params

    assert len(mixed) == N_GROUPS
    invalid = mixed[mixed["status"] == "invalid_input"]
    assert invalid["group"].tolist() == bad.tolist()
    assert invalid["message"].str.len().gt(0).all()
    assert invalid["E"].isna().all()
    reasons = " ".join(invalid["message"])
    for fragment in ("missing (NaN)", "not a number", "must be > 0", "infinite", "duplicated",
                     "fewer than the 3 free parameters", "is constant"):
        assert fragment in reasons
    kept = mixed[mixed["status"] != "invalid_input"].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept[["group", *FITTED]], alone[["group", *FITTED]], check_exact=True)
    assert (kept["status"] == "converged").mean() > 0.99


def test_skip_matches_fitting_each_good_group_alone(big_batch):
    """A sample of good groups, each fitted on its own (another kernel shape: one lane),
    gives the batch's numbers to 1e-12."""
    clean, bad, poisoned = big_batch
    kw = dict(loss="log-mse", starts=ONE_START)
    mixed = lawfit.fit(poisoned, "power_law", "x", "y", by="group", on_invalid="skip", **kw).params
    sample = np.random.default_rng(2).choice(np.setdiff1d(np.arange(N_GROUPS), bad), 10, replace=False)
    for g in sample:
        one = lawfit.fit(clean[clean["group"] == g], "power_law", "x", "y", **kw).params.iloc[0]
        row = mixed[mixed["group"] == g].iloc[0]
        assert row["status"] == one["status"]
        for p in ("E", "A", "alpha", "objective"):
            assert row[p] == pytest.approx(one[p], rel=1e-12, abs=1e-300)


def test_raise_policy_names_columns_and_rows(big_batch):
    """The default policy raises one InputError listing every kind of bad cell with its
    column and rows; duplicated rows are reported first, on their own."""
    _, _, poisoned = big_batch
    kw = dict(by="group", loss="log-mse", starts=ONE_START)
    with pytest.raises(InputError, match=r"duplicated rows \(same group, x, y\) at rows \d+"):
        lawfit.fit(poisoned, "power_law", "x", "y", **kw)
    with pytest.raises(InputError) as info:
        lawfit.fit(poisoned, "power_law", "x", "y", duplicates="keep", **kw)
    message = str(info.value)
    for fragment in (
        r"column 'y' \(y\) is missing \(NaN\) at rows \d+",
        r"column 'x' \(input x\) is not a number at rows \d+",
        r"column 'x' \(input x\) must be > 0 at rows \d+",
        r"column 'y' \(y\) must be > 0 for the log-mse loss at rows \d+",
        r"column 'x' \(input x\) is infinite at rows \d+",
    ):
        assert re.search(fragment, message), fragment
    first_nan = poisoned.index[poisoned["y"].isna()][0]
    assert f"is missing (NaN) at rows {first_nan}," in message


# --- failing fits become statuses ------------------------------------------------------


@pytest.fixture(scope="module")
def one_group() -> pd.DataFrame:
    """8 noisy points of a power law with a floor (E = 1.5)."""
    frame = power_groups(1, seed=5)
    return frame.assign(w=1.0)


def test_nonfinite_objective_is_a_status(one_group):
    """Weights of 1e308 overflow the summed objective at every start: status nonfinite,
    NaN parameters, a message, and no exception."""
    frame = one_group.assign(w=1e308)
    row = lawfit.fit(frame, "power_law", "x", "y", weights="w", loss="log-mse", starts=ONE_START).params.iloc[0]
    assert row["status"] == "nonfinite"
    assert np.isnan(row[["E", "A", "alpha", "objective"]].to_numpy(float)).all()
    assert "not finite" in row["message"]


def test_step_cap_is_a_status(one_group):
    """Two steps cannot converge: status max_steps with the best parameters so far."""
    row = lawfit.fit(one_group, "power_law", "x", "y", loss="log-mse", starts=ONE_START, max_steps=2).params.iloc[0]
    assert row["status"] == "max_steps"
    assert row["steps"] == 2 and row["n_converged"] == 0
    assert np.isfinite(row[["E", "A", "alpha", "objective"]].to_numpy(float)).all()
    assert "step cap" in row["message"]


def test_singular_batch_is_a_status_with_a_flat_direction(one_group):
    """fit_batch on a constant input (E and A x^-alpha are one number): the Gauss-Newton
    matrix is singular; the kernel still returns finite parameters and a status, and the
    diagnostics report the flat direction."""
    from lawfit.fitting import LevenbergMarquardt, LogMSE, fit_batch
    from lawfit.fitting._diagnostics import MAX_CONDITION, diagnose_optima, warning_messages

    law = lawfit.laws.get("power_law")
    x = {"x": np.full((1, 8), 1e8)}
    y = one_group["y"].to_numpy()[None, :8]
    w = np.ones((1, 8))
    out = fit_batch(law, x, y, w, starts=ONE_START, lower=law.lower, upper=law.upper,
                    objective=LogMSE(), solver=LevenbergMarquardt())
    assert int(out.status[0]) in {s.value for s in lawfit.Status}
    assert np.isfinite(out.params).all() and np.isfinite(out.objective).all()
    diagnosis = diagnose_optima(law, LogMSE(), x, y, w, out.u, law.lower, law.upper)
    assert diagnosis.condition[0] > MAX_CONDITION
    assert "ill-conditioned" in warning_messages(law, diagnosis)[0]


def _redundant_law() -> Law:
    """L = E + A B x^-alpha: only the product A B is identifiable."""
    pos = dict(lower=0.0, upper=np.inf)
    return Law(
        name="redundant_power",
        inputs=("x",),
        params=(Param("E", grid=(1.0,), **pos), Param("A", grid=(5.0,), **pos),
                Param("B", grid=(5.0,), **pos), Param("alpha", grid=(0.3,), **pos)),
        fn=lambda p, x: p["E"] + p["A"] * p["B"] * x["x"] ** -p["alpha"],
    )


def test_singular_fit_warns_and_names_the_flat_direction(one_group):
    """fit() of a law with a redundant parameter: a status (no exception), finite numbers,
    and an IllConditionedWarning whose flat direction names A and B."""
    with pytest.warns(IllConditionedWarning, match="ill-conditioned"):
        result = lawfit.fit(one_group, _redundant_law(), "x", "y", loss="log-mse", starts="grid")
    row = result.params.iloc[0]
    assert row["status"] in {"converged", "stalled", "max_steps"}
    assert np.isfinite(row[["E", "A", "B", "alpha", "objective"]].to_numpy(float)).all()
    assert re.search(r"ill-conditioned \(condition number ([\d.e+]+|inf)\).*\b(A, B|B, A)\b", row["warning"])
    assert row["E"] * 0 == 0 and row["A"] * row["B"] == pytest.approx(50.0, rel=0.5)


def test_floor_at_zero_is_flagged_and_a_clean_fit_is_not(one_group):
    """A pure power law (no floor) drives E towards its bound 0: flagged in the warning
    column and by one warning naming the group. The floored data give no warning."""
    x = one_group["x"].to_numpy()
    noise = np.exp(0.001 * np.random.default_rng(0).standard_normal(len(x)))
    frame = pd.concat([one_group.assign(run="floor"),
                       pd.DataFrame({"x": x, "y": 50.0 * x**-0.2 * noise, "run": "none"})])
    with pytest.warns(IllConditionedWarning, match=r"1 of 2 fits .*group \{'run': 'none'\}: E = "):
        params = lawfit.fit(frame, "power_law", "x", "y", by="run", loss="log-mse", starts=ONE_START).params
    flagged = params.set_index("run")["warning"]
    assert "E = " in flagged["none"] and "lower bound 0" in flagged["none"]
    assert flagged["floor"] == ""
    assert list(params.columns[params.columns.get_loc("message"):][:2]) == ["message", "warning"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", IllConditionedWarning)
        lawfit.fit(one_group, "power_law", "x", "y", loss="log-mse", starts=ONE_START)


# --- float32 at Chinchilla scale ---------------------------------------------------------


def test_float32_fits_chinchilla_scale_without_overflow():
    """N up to 1e12, D up to 1e13 (N^alpha, D^beta far beyond float32 if not taken in logs):
    a float32 fit converges to the float64 parameters."""
    truth = dict(E=1.82, A=482.0, B=2085.0, alpha=0.35, beta=0.37)
    n, d = np.meshgrid(np.logspace(8, 12, 5), np.logspace(9, 13, 5))
    law = lawfit.laws.get("chinchilla")
    loss = np.asarray(law.predict(truth, {"N": jnp.asarray(n.ravel()), "D": jnp.asarray(d.ravel())}))
    noise = np.exp(1e-3 * np.random.default_rng(0).standard_normal(loss.size))
    frame = pd.DataFrame({"N": n.ravel(), "D": d.ravel(), "loss": loss * noise})
    kw = dict(loss="log-mse", starts=np.array([[1.0, 100.0, 100.0, 0.5, 0.5]]))
    p32 = lawfit.fit(frame, "chinchilla", {"N": "N", "D": "D"}, "loss", precision="float32", **kw).params.iloc[0]
    p64 = lawfit.fit(frame, "chinchilla", {"N": "N", "D": "D"}, "loss", **kw).params.iloc[0]
    assert p32["status"] == p64["status"] == "converged"
    for name, value in truth.items():
        assert np.isfinite(p32[name])
        assert p32[name] == pytest.approx(p64[name], rel=2e-3), name
        assert p64[name] == pytest.approx(value, rel=0.05), name


# --- atomic writes ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch, suffix, error):
    """A write that dies half-way (disk full, Ctrl-C) leaves the previous file byte for byte
    and no temporary file; a disk error is an InputError naming the output."""
    path = tmp_path / f"fits{suffix}"
    write_table(pd.DataFrame({"E": [1.0, 2.0], "status": ["converged", "stalled"]}), path)
    before = path.read_bytes()

    def half_write(self, target, *args, **kwargs):
        with open(target, "wb") as handle:
            handle.write(before[: len(before) // 2])
        raise error

    monkeypatch.setattr(pd.DataFrame, "to_parquet" if suffix == ".parquet" else "to_csv", half_write)
    expected = KeyboardInterrupt if isinstance(error, KeyboardInterrupt) else InputError
    with pytest.raises(expected, match=None if expected is KeyboardInterrupt else "No space left"):
        write_table(pd.DataFrame({"E": [3.0]}), path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [path.name]


def test_written_file_permissions_follow_umask_or_the_replaced_file(tmp_path):
    """The temporary file must not leak its private mode: a new file gets 0666 & ~umask,
    a replaced file keeps its mode."""
    old_mask = os.umask(0o022)
    try:
        path = tmp_path / "fits.csv"
        write_table(pd.DataFrame({"a": [1]}), path)
        assert os.stat(path).st_mode & 0o777 == 0o644
        os.chmod(path, 0o640)
        write_table(pd.DataFrame({"a": [2]}), path)
        assert os.stat(path).st_mode & 0o777 == 0o640
        assert read_table(path)["a"].tolist() == [2]
    finally:
        os.umask(old_mask)


# --- checkpoint and resume ---------------------------------------------------------------

# Four groups per kernel call, so 12 groups take 3 calls.
CHUNKED = dict(by="group", loss="log-mse", starts=ONE_START, bootstrap=5, seed=3, chunk=4)


@pytest.fixture(scope="module")
def twelve_groups() -> pd.DataFrame:
    return power_groups(12, seed=3)


@pytest.fixture
def fitted_groups(monkeypatch):
    """Records how many groups each kernel call fits."""
    calls = []
    real = _chunked.fit_batch

    def counting(law, x, y, weight, **kwargs):
        calls.append(int((np.asarray(weight) > 0).any(axis=1).sum()))
        return real(law, x, y, weight, **kwargs)

    monkeypatch.setattr(_chunked, "fit_batch", counting)
    return calls


def test_chunks_cover_every_group_once_in_few_shapes():
    """Bulk fits: every group in one call, at most per_call per call, one shape per level,
    and sizes merged into one padded length when that costs little (10-30 points -> 32)."""
    sizes = np.random.default_rng(0).integers(10, 31, 1000)
    calls = list(_chunked.chunks(np.arange(1000), sizes, per_call=300))
    members = np.concatenate([c.groups for c in calls])
    assert sorted(members.tolist()) == list(range(1000))
    assert all(len(c.groups) <= 300 and len(c.groups) <= c.groups_to for c in calls)
    assert all(sizes[c.groups].max() <= c.points for c in calls)
    assert {(c.points, c.groups_to) for c in calls} == {(32, 256)}  # 4 calls of 250, one shape

    # 8 and 1,000 points: merging would pad most groups 128-fold, so two lengths stay.
    sizes = np.array([8] * 50 + [1000] * 2)
    shapes = {(c.points, c.groups_to) for c in _chunked.chunks(np.arange(52), sizes, per_call=64)}
    assert shapes == {(8, 64), (1024, 8)}
    assert _chunked.bucket(sizes, levels=1).sum() > _chunked.MERGE_SLACK * _chunked.bucket(sizes).sum()


def _interrupt_after_first_chunk(done, total):
    raise KeyboardInterrupt


def test_rerun_is_identical(twelve_groups):
    """Same inputs and seed, twice: identical parameter and bootstrap tables."""
    first = lawfit.fit(twelve_groups, "power_law", "x", "y", **CHUNKED)
    second = lawfit.fit(twelve_groups, "power_law", "x", "y", **CHUNKED)
    pd.testing.assert_frame_equal(first.params, second.params, check_exact=True)
    pd.testing.assert_frame_equal(first.bootstrap, second.bootstrap, check_exact=True)


def test_bootstrap_of_a_group_does_not_depend_on_its_batch(twelve_groups):
    """A group's resamples come from the seed and its key: alone or chunked, same intervals."""
    batched = lawfit.fit(twelve_groups, "power_law", "x", "y", **CHUNKED)
    last = twelve_groups["group"].unique()[-1]
    alone = lawfit.fit(
        twelve_groups[twelve_groups["group"] == last], "power_law", "x", "y", **CHUNKED
    )
    mine = batched.bootstrap[batched.bootstrap["group"] == last].reset_index(drop=True)
    np.testing.assert_allclose(
        mine[["E", "A", "alpha"]].to_numpy(), alone.bootstrap[["E", "A", "alpha"]].to_numpy(),
        rtol=1e-6,
    )


def test_interrupted_fit_resumes_to_the_uninterrupted_result(
    twelve_groups, fitted_groups, tmp_path
):
    """Ctrl-C after the first kernel call keeps its 4 groups in the checkpoint; the rerun
    fits only the other 8 and returns exactly the uninterrupted tables (bootstrap too); a
    third run fits nothing."""
    reference = lawfit.fit(twelve_groups, "power_law", "x", "y", **CHUNKED)
    fitted_groups.clear()
    path = tmp_path / "fits.partial.parquet"
    with pytest.raises(KeyboardInterrupt):
        lawfit.fit(twelve_groups, "power_law", "x", "y", checkpoint=path,
                   progress=_interrupt_after_first_chunk, **CHUNKED)
    assert fitted_groups == [4]
    assert len(pd.read_parquet(path)) == 4
    assert sorted(os.listdir(tmp_path)) == [path.name]

    fitted_groups.clear()
    seen = []
    resumed = lawfit.fit(twelve_groups, "power_law", "x", "y", checkpoint=path,
                         progress=lambda done, total: seen.append((done, total)), **CHUNKED)
    assert fitted_groups == [4, 4]
    assert seen == [(4, 12), (8, 12), (12, 12)]
    pd.testing.assert_frame_equal(resumed.params, reference.params, check_exact=True)
    pd.testing.assert_frame_equal(resumed.bootstrap, reference.bootstrap, check_exact=True)

    fitted_groups.clear()
    again = lawfit.fit(twelve_groups, "power_law", "x", "y", checkpoint=path, **CHUNKED)
    assert fitted_groups == []
    pd.testing.assert_frame_equal(again.params, reference.params, check_exact=True)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(dict(seed=4), id="seed"),
        pytest.param(dict(loss="mse"), id="loss"),
        pytest.param(dict(data=True), id="data"),
        pytest.param(dict(y="y2"), id="column"),
    ],
)
def test_checkpoint_of_another_fit_is_refused(twelve_groups, tmp_path, change):
    """A checkpoint written for other options, data or columns is an InputError that tells
    the user to delete it, raised before any fitting."""
    path = tmp_path / "fits.partial.parquet"
    frame = twelve_groups.assign(y2=twelve_groups["y"])
    with pytest.raises(KeyboardInterrupt):
        lawfit.fit(frame, "power_law", "x", "y", checkpoint=path,
                   progress=_interrupt_after_first_chunk, **CHUNKED)
    kw = {**CHUNKED, **change}
    y = kw.pop("y", "y")
    if kw.pop("data", False):
        frame = frame.assign(y=frame["y"] * np.where(frame.index == 30, 1.001, 1.0))
    with pytest.raises(InputError, match=r"checkpoint .* other data or options.*delete it"):
        lawfit.fit(frame, "power_law", "x", y, checkpoint=path, **kw)


def test_unreadable_checkpoint_is_an_input_error(twelve_groups, tmp_path):
    path = tmp_path / "fits.partial.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match=r"cannot be read.*delete it"):
        lawfit.fit(twelve_groups, "power_law", "x", "y", checkpoint=path, **CHUNKED)
    with pytest.raises(InputError, match=r"checkpoint .*\.parquet path"):
        lawfit.fit(twelve_groups, "power_law", "x", "y", checkpoint=tmp_path / "c.csv", **CHUNKED)
