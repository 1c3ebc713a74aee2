"""The CLI at parity with Python (``--fixed``, ``--bounds``, ``--ci``, ``--max-steps``,
``--chunk``, ``--module``, ``--version``, ``--quiet``/``--verbose``, warnings as one line,
options checked before fitting) and the bugs a new user hit (issue 16, items 7 and 8)."""

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import lawfit
from lawfit.cli import app
from lawfit.data import InputError, read_table, write_table
from lawfit.fitting import IllConditionedWarning
from lawfit.fitting._diagnostics import IMPLAUSIBLE_FACTOR, step_cap_messages
from lawfit.laws import get as get_law
from test_cli_fit import FIT, groups_frame


def invoke(*args):
    return CliRunner().invoke(app, [*map(str, args)])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    path = tmp_path_factory.mktemp("parity") / "runs.csv"
    groups_frame().to_csv(path, index=False)
    return path


# ---- item 7: flags at parity with lawfit.fit ----------------------------------------------


def test_fit_flags_give_the_python_fit_and_one_line_warnings(runs, tmp_path):
    """--fixed, --bounds, --bootstrap with --ci, --max-steps and --chunk give lawfit.fit's
    table; alpha held below its true 0.2 sits at its bound: the warning is one line naming
    the user's group and the output file, with no Python source line."""
    out = tmp_path / "fits.csv"
    result = invoke("fit", runs, *FIT, "--by", "run", "--fixed", "E=1.5", "--bounds",
                    "alpha=0.05:0.15,A=0:", "--bootstrap", "8", "--ci", "0.5", "--max-steps",
                    "300", "--chunk", "2", "--out", out)
    assert result.exit_code == 0, result.output
    with pytest.warns(IllConditionedWarning, match="alpha is at its upper bound"):
        expected = lawfit.fit(
            groups_frame(), "power_law", "size", "loss", by="run", loss="log-mse", starts=4,
            fixed={"E": 1.5}, bounds={"alpha": (0.05, 0.15), "A": (0.0, None)},
            bootstrap=lawfit.Bootstrap(8, 0.5), max_steps=300, chunk=2,
        ).params
    table = pd.read_csv(out)
    assert (table["E"] == 1.5).all() and (table["alpha"] <= 0.15).all()
    numbers = ["A", "alpha", "A_lo", "A_hi", "alpha_lo", "alpha_hi"]
    np.testing.assert_allclose(table[numbers], expected[numbers], rtol=1e-9)
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("warning: "), result.stderr
    assert "'run': 'r0'" in warnings[0] and str(out) in warnings[0]
    assert "FitResult" not in warnings[0] and ".py:" not in result.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fixed", "E"], "--fixed: expected NAME=VALUE pairs"),
        (["--fixed", "E=low"], "--fixed: E='low' is not a number"),
        (["--bounds", "E=0"], "--bounds: expected NAME=LO:HI pairs"),
        (["--bounds", "E=2:1"], "--bounds: E='2:1': LO must be below HI"),
        (["--ci", "0.9"], "--ci needs --bootstrap N"),
        (["--bootstrap", "4", "--ci", "1.5"], "--bootstrap/--ci: ci must be in (0, 1)"),
    ],
)
def test_bad_fit_flags_exit_2(runs, tmp_path, extra, message):
    result = invoke("fit", runs, *FIT, *extra, "--out", tmp_path / "fits.csv")
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"lawfit {lawfit.__version__}"


LAW_FILE = """
import jax.numpy as jnp
from lawfit import Law, Param, register

register(Law(name="{name}", inputs=("x",),
             params=(Param("a", grid=(1.0, 2.0)), Param("b", lower=0.0, grid=(0.1, 0.5))),
             fn=lambda p, x: p["a"] + p["b"] * jnp.log(x["x"])))
"""


def test_module_registers_a_law_for_any_command(runs, tmp_path):
    module = tmp_path / "my_laws.py"
    module.write_text(LAW_FILE.format(name="cli_parity_loglinear"))
    listed = invoke("laws", "--module", module)
    assert listed.exit_code == 0 and "cli_parity_loglinear" in listed.stdout
    out = tmp_path / "fits.csv"
    fitted = invoke("fit", runs, "--law", "cli_parity_loglinear", "--x", "x=size", "--y",
                    "loss", "--loss", "mse", "--module", module, "--out", out)
    assert fitted.exit_code == 0, fitted.output
    assert list(pd.read_csv(out).columns[:2]) == ["a", "b"]


@pytest.mark.parametrize(("content", "message"), [
    ("raise RuntimeError('no GPU here')", "failed to import: RuntimeError: no GPU here"),
    (None, "expected an existing .py file"),
])
def test_module_that_fails_exits_2_naming_the_option(tmp_path, content, message):
    module = tmp_path / "broken.py"
    if content is not None:
        module.write_text(content)
    result = invoke("laws", "--module", module)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1
    assert lines[0].startswith(f"error: --module {str(module)!r}") and message in lines[0]


def test_quiet_hides_info_lines_and_verbose_adds_timings(runs, tmp_path):
    out = tmp_path / "fits.csv"
    quiet = invoke("--quiet", "fit", runs, *FIT, "--out", out)
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""
    verbose = invoke("--verbose", "fit", runs, *FIT, "--out", out)
    assert verbose.exit_code == 0 and "wrote 1 fits" in verbose.stdout
    assert {line.split()[1] for line in verbose.stderr.splitlines()} >= {"read", "fit", "total"}
    both = invoke("--quiet", "--verbose", "laws")
    assert both.exit_code == 2 and "exclude each other" in both.output


def test_forecast_at_group_missing_fails_before_fitting(runs, tmp_path, monkeypatch):
    import lawfit.bayes

    def no_fitting(*args, **kwargs):
        raise AssertionError("forecast ran before --at was checked")

    monkeypatch.setattr(lawfit.bayes, "forecast", no_fitting)
    at = tmp_path / "at.csv"
    pd.DataFrame({"run": ["r0", "r7"], "size": [1e11, 1e11]}).to_csv(at, index=False)
    result = invoke("forecast", runs, "--law", "power_law", "--x", "x=size", "--y", "loss",
                    "--by", "run", "--at", at, "--out", tmp_path / "fc.csv")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --at: row 1 has group run='r7', which is not in the data"


def test_forecast_passes_lam_max_and_refuses_a_negative_one(runs, tmp_path, monkeypatch):
    import lawfit.bayes

    seen = {}

    def record(*args, **kwargs):
        seen.update(kwargs)
        raise lawfit.InputError("recorded")

    monkeypatch.setattr(lawfit.bayes, "forecast", record)
    args = ("forecast", runs, "--law", "power_law", "--x", "x=size", "--y", "loss", "--at", runs,
            "--out", tmp_path / "fc.csv")
    assert invoke(*args, "--lam-max", "0.5").exit_code == 2 and seen["lam_max"] == 0.5
    seen.clear()
    assert invoke(*args).exit_code == 2 and "lam_max" not in seen  # the library's default
    result = invoke(*args, "--lam-max", "-1")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --lam-max must be a finite number >= 0; got -1.0"


# ---- item 8: the bugs a new user hit ----------------------------------------------------


@pytest.mark.parametrize("command", ["fit", "forecast"])
def test_out_equal_to_the_input_is_refused(runs, tmp_path, command):
    before = runs.read_bytes()
    extra = ["--at", runs] if command == "forecast" else []
    result = invoke(command, runs, *FIT[:6], *extra, "--out", runs)
    assert result.exit_code == 2 and "overwrite the data" in result.stderr
    assert runs.read_bytes() == before


def test_duplicate_column_names_are_refused(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("size,loss,size\n1e6,3.0,2e6\n1e7,2.5,2e7\n1e8,2.2,2e8\n")
    with pytest.raises(InputError, match="column 'size' appears more than once"):
        read_table(path)
    result = invoke("fit", path, *FIT, "--out", tmp_path / "fits.csv")
    assert result.exit_code == 2 and "'size' appears more than once" in result.stderr


def test_a_column_with_a_dot_is_not_a_duplicate(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("loss.val,loss\n1.0,2.0\n")
    assert list(read_table(path).columns) == ["loss.val", "loss"]


@pytest.mark.parametrize(("sep", "word"), [(";", "semicolon"), ("\t", "tab")])
def test_other_delimiter_is_named(tmp_path, sep, word):
    path = tmp_path / "runs.csv"
    groups_frame().to_csv(path, index=False, sep=sep)
    with pytest.raises(InputError, match=rf"looks {word}-separated .*sep={re.escape(repr(sep))}"):
        read_table(path)


def test_validation_error_is_exactly_one_line(tmp_path):
    """The console script in its own process: no blank line before the error (the progress
    bar left one when stderr is not a terminal)."""
    data = tmp_path / "runs.csv"
    frame = groups_frame().astype({"size": object})
    frame.loc[3, "size"] = "abc"
    frame.to_csv(data, index=False)
    script = os.path.join(os.path.dirname(sys.executable), "lawfit")
    proc = subprocess.run([script, "fit", str(data), *FIT, "--out", str(tmp_path / "o.csv")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == "error: data: column 'size' (input x) is not a number at row 3\n"


def test_out_through_a_symlink_writes_its_target(tmp_path):
    target, link = tmp_path / "real.csv", tmp_path / "link.csv"
    pd.DataFrame({"a": [1]}).to_csv(target, index=False)
    link.symlink_to(target)
    write_table(pd.DataFrame({"b": [2]}), link)
    assert link.is_symlink() and pd.read_csv(target).columns.tolist() == ["b"]


def test_posterior_accepts_a_path(runs):
    post = lawfit.posterior(runs, "power_law", "size", "loss", by="run",
                            sampler=lawfit.Laplace(chains=1, samples=20))
    assert post.groups["run"].tolist() == ["r0", "r1", "r2"]


def test_step_capped_fit_warns_naming_the_cap_and_the_implausible_parameters():
    law = get_law("chinchilla")
    params = np.array([[1.8, 3e104, 400.0, 14.9, 0.3], [1.8, 400.0, 400.0, 0.3, 0.3]])
    absurd, plain = step_cap_messages(law, params, np.array([500, 500]))
    assert "step cap (max_steps) after 500 steps" in absurd
    assert "implausible A = 3e+104, alpha = 14.9" in absurd and "beta" not in absurd
    assert "step cap" in plain and "implausible" not in plain
    assert IMPLAUSIBLE_FACTOR * max(p.grid[-1] for p in law.params if p.name == "alpha") < 14.9


def test_step_capped_fit_has_a_warning_and_says_what_n_converged_counts():
    with pytest.warns(IllConditionedWarning, match="stopped by the step cap"):
        row = lawfit.fit(groups_frame(1), "power_law", "size", "loss", loss="log-mse",
                         starts=4, max_steps=2).params.iloc[0]
    assert row["status"] == "max_steps"
    assert "step cap (max_steps) after" in row["warning"]
    assert f"n_converged = {row['n_converged']}: starts that converged" in row["message"]


def test_unknown_hitchhiker_family_lists_the_valid_ones():
    from lawfit.evaluate import designs

    corpus = lawfit.load("hitchhiker")
    with pytest.raises(InputError, match=r"\['GPT-5'\] not in .*the families are: .*OPT"):
        designs(corpus, families=["GPT-5"])


def test_forecast_names_an_invalid_row_in_the_users_groups_and_rows(tmp_path):
    """Not the batched posterior's internal ``_fit`` group and combined-frame row."""
    data, at = tmp_path / "runs.csv", tmp_path / "at.csv"
    frame = groups_frame(2).astype({"loss": object})
    frame.loc[10, "loss"] = "oops"
    frame.to_csv(data, index=False)
    pd.DataFrame({"run": ["r0"], "size": [1e11]}).to_csv(at, index=False)
    result = invoke("forecast", data, "--law", "power_law", "--x", "x=size", "--y", "loss",
                    "--by", "run", "--at", at, "--out", tmp_path / "fc.csv")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: group {'run': 'r1'}: 1 invalid row: column 'loss' (y) is not a number at row 10")
