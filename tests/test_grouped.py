"""GroupedData: grouping, reason codes, the padding convention and bucketing (no JAX)."""

import numpy as np
import pandas as pd
import pytest

import lawfit
from lawfit import InputError
from lawfit.data import GroupedData, Reason, bucket

X = {"N": "n"}


def frame() -> pd.DataFrame:
    """Groups b (3 rows, out of order in the table), a (2 rows), c (1 row, constant)."""
    return pd.DataFrame(
        {"g": ["b", "a", "b", "c", "a", "b"], "n": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
         "y": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]},
        index=[f"r{i}" for i in range(6)],
    )


def test_groups_are_contiguous_sorted_and_keep_row_order():
    grouped = GroupedData.from_frame(frame(), X, "y", by=["g"], on_invalid="skip", min_points=2)
    assert grouped.keys["g"].tolist() == ["a", "b", "c"]
    assert grouped.offsets.tolist() == [0, 2, 5, 6]
    assert grouped.inputs["N"].tolist() == [2.0, 5.0, 1.0, 3.0, 6.0, 4.0]
    assert grouped.labels.tolist() == ["r1", "r4", "r0", "r2", "r5", "r3"]
    assert grouped.reason.tolist() == [Reason.OK, Reason.OK, Reason.TOO_FEW_POINTS]
    assert grouped.message(2) == "1 points with positive weight, fewer than the 2 free parameters"


def test_reasons_are_codes_with_messages():
    data = frame()
    data.loc["r2", "y"] = np.nan
    data.loc["r4", "n"] = 2.0  # group a: both rows at n = 2
    data = data.rename(columns={"g": "group"})
    grouped = GroupedData.from_frame(data, X, "y", by="group", on_invalid="skip", min_points=1)
    assert grouped.reason.tolist() == [Reason.CONSTANT_INPUT, Reason.INVALID_ROWS, Reason.OK]
    assert "input N (column 'n') is constant (2 in every row)" in grouped.message(0)
    assert grouped.message(1) == "1 invalid row: column 'y' (y) is missing (NaN) at row r2"
    with pytest.raises(InputError, match=r"data: column 'y' \(y\) is missing \(NaN\) at row r2"):
        GroupedData.from_frame(data, X, "y", by="group")


def test_min_points_per_group_from_the_keys():
    grouped = GroupedData.from_frame(
        frame(), X, "y", by=["g"], on_invalid="skip",
        min_points=lambda keys: np.where(keys["g"] == "b", 4, 1),
    )
    assert grouped.reason.tolist() == [Reason.OK, Reason.TOO_FEW_POINTS, Reason.OK]


def test_padding_repeats_points_cyclically_with_weight_zero():
    grouped = GroupedData.from_frame(frame(), X, "y", by=["g"], on_invalid="skip")
    padded = grouped.pad([1, 0], points=8, groups_to=3)
    assert padded.groups.tolist() == [1, 0, 1]
    assert padded.inputs["N"][0].tolist() == [1.0, 3.0, 6.0] * 2 + [1.0, 3.0]
    assert padded.inputs["N"][1].tolist() == [2.0, 5.0] * 4
    assert padded.weight.sum(axis=1).tolist() == [3.0, 2.0, 0.0]
    assert (padded.mask == (padded.weight > 0)).all()
    assert padded.n_groups == 2


def test_bucket_powers_of_two_and_merged_levels():
    assert [bucket(n) for n in (0, 1, 8, 9, 100)] == [8, 8, 8, 16, 128]
    sizes = np.array([3, 9, 20, 40, 100])
    assert bucket(sizes).tolist() == [8, 16, 32, 64, 128]
    merged = bucket(sizes, levels=2)
    assert len(np.unique(merged)) == 2 and (merged >= bucket(sizes)).all()
    assert merged.max() == 128


def test_data_constrained_rejects_more_unique_tokens_than_tokens():
    """Muennighoff et al.'s U is unique tokens within D: a row with U > D is invalid input."""
    data = pd.DataFrame({"N": [1e8, 2e8, 4e8], "D": [1e9, 1e9, 1e9], "U": [1e9, 2e9, 5e8],
                         "loss": [3.0, 2.9, 2.8]})
    law = lawfit.laws.get("data_constrained")
    with pytest.raises(InputError, match=r"column 'U' \(input U\) must be <= column 'D' \(input D\) at row 1"):
        GroupedData.from_frame(data, {"N": "N", "D": "D", "U": "U"}, "loss",
                               row_checks=law.row_checks)
    with pytest.raises(InputError, match=r"must be <= column 'D' \(input D\) at row 1"):
        lawfit.fit(data, law, {"N": "N", "D": "D", "U": "U"}, "loss")


def test_thin_runs_keeps_evenly_spaced_checkpoints_per_run():
    """At most k rows per run (group x other inputs), both ends kept, gaps in log D close to
    range / (k - 1); short runs and rows without a usable D kept whole."""
    from lawfit.data import thin_runs

    dense = pd.DataFrame({"family": "a", "N": 1e8, "D": np.logspace(9, 12, 301)})
    short = pd.DataFrame({"family": "a", "N": 2e8, "D": np.logspace(9, 10, 5)})
    other = pd.DataFrame({"family": "b", "N": 1e8, "D": np.logspace(10, 11, 40)})
    bad = pd.DataFrame({"family": "b", "N": 1e8, "D": [0.0, np.nan]})
    frame = pd.concat([dense, short, other, bad], ignore_index=True).sample(frac=1, random_state=0)
    keep = thin_runs(frame, ["family", "N"], "D", 10, spacing="log")
    kept = frame[keep]
    sizes = kept[kept["D"] > 0].groupby(["family", "N"]).size().to_dict()
    assert sizes == {("a", 1e8): 10, ("a", 2e8): 5, ("b", 1e8): 10}
    assert kept["D"].isna().sum() == 1 and (kept["D"] == 0).sum() == 1
    logs = np.sort(np.log10(kept[(kept["family"] == "a") & (kept["N"] == 1e8)]["D"]))
    assert logs[0] == 9.0 and logs[-1] == 12.0
    assert np.abs(np.diff(logs) - 3.0 / 9).max() < 0.01 + 1e-9  # grid step 0.01 decades
    with pytest.raises(InputError, match="thin: keep at least 2 rows per run"):
        thin_runs(frame, ["family"], "D", 1)
    with pytest.raises(InputError, match="spacing: 'linear' or 'log'"):
        thin_runs(frame, ["family"], "D", 10, spacing="sqrt")


def test_thin_runs_spaces_checkpoints_evenly_in_steps_by_default():
    """Checkpoints every 1,000 steps of 2 M tokens: the default keeps rows evenly spaced in D
    (each kept row within half a checkpoint of its target, so gaps within one checkpoint of
    range / (k - 1)), where log spacing would crowd the early ones."""
    from lawfit.data import thin_runs

    frame = pd.DataFrame({"N": 1e8, "D": 2e9 * np.arange(1, 501)})
    kept = np.sort(frame[thin_runs(frame, ["N"], "D", 11)]["D"].to_numpy())
    assert kept[0] == 2e9 and kept[-1] == 1e12 and len(kept) == 11
    assert np.abs(np.diff(kept) - (1e12 - 2e9) / 10).max() <= 2e9 + 1e-3
    early = np.sort(frame[thin_runs(frame, ["N"], "D", 11, spacing="log")]["D"].to_numpy())
    assert (early < 1e11).sum() > (kept < 1e11).sum()
