"""``lawfit fit`` on bad input: exit code 2 and one line on stderr naming the column and rows,
never a traceback; --on-invalid skip; --resume after an interrupt."""

import contextlib
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawfit.cli import _fit as cli_fit
from lawfit.cli import app

# Four groups per kernel call, so 12 groups take 3 calls.
FOUR_PER_CALL = ["--chunk", "4"]
FIT = ["--law", "power_law", "--x", "x=size", "--y", "loss", "--loss", "log-mse", "--starts", "4"]


def groups_frame(n_groups: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = np.logspace(6, 10, 8)
    rows = []
    for g in range(n_groups):
        loss = (1.5 + 0.1 * g + 50 * size**-0.2) * np.exp(0.01 * rng.standard_normal(8))
        rows.append(pd.DataFrame({"run": f"r{g}", "size": size, "loss": loss}))
    return pd.concat(rows, ignore_index=True)


def run(*args):
    return CliRunner().invoke(app, ["fit", *map(str, args)])


def damaged(column, row, value):
    frame = groups_frame().astype({column: object})
    frame.loc[row, column] = value
    return frame


CASES = {
    "text": (damaged("size", 3, "1.3B"), [], r"column 'size' (input x) is not a number at row 3"),
    "nan": (damaged("loss", 4, np.nan), [], r"column 'loss' (y) is missing (NaN) at row 4"),
    "inf": (damaged("loss", 5, np.inf), [], r"column 'loss' (y) is infinite at row 5"),
    "zero_size": (damaged("size", 6, 0), [], r"column 'size' (input x) must be > 0 at row 6"),
    "negative_loss": (damaged("loss", 7, -1.0), [], r"column 'loss' (y) must be > 0 for the log-mse loss at row 7"),
    "duplicate": (pd.concat([groups_frame(), groups_frame().iloc[[2]]], ignore_index=True), [],
                  r"1 duplicated row (same size, loss) at row 24"),
    "too_few": (groups_frame().iloc[:2], [], r"data: 2 points with positive weight, fewer than the 3"),
    "constant": (groups_frame().iloc[:8].assign(size=1e9), [], r"input x (column 'size') is constant"),
    "group_too_few": (groups_frame().drop(index=range(10, 16)), ["--by", "run"],
                      r"group {'run': 'r1'}: 2 points with positive weight"),
    "missing_y": (groups_frame(), ["--y", "val_loss"],
                  r"y: column 'val_loss' not found; the data has: run, size, loss"),
    "missing_by": (groups_frame(), ["--by", "family"], r"by: column 'family' not found"),
    "law": (groups_frame(), ["--law", "chinchila"], r"law: unknown law 'chinchila'"),
    "policy": (groups_frame(), ["--on-invalid", "ignore"], r"on_invalid must be 'raise' or 'skip'"),
    "x_pairs": (groups_frame(), ["--x", "x=size,D"], r"--x: expected NAME=COLUMN pairs separated by commas"),
    "precision": (groups_frame(), ["--precision", "half"], r"precision must be 'float64' or 'float32'"),
    "start_pairs": (groups_frame(), ["--starts", "E=1,A=2,gamma=3"],
                    r"starts: law 'power_law' has parameters E, A, alpha; no value for alpha; unknown gamma"),
    "start_value": (groups_frame(), ["--starts", "E=1,A=2,alpha=x"], r"--starts: alpha='x' is not a number"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_one_line(tmp_path, case):
    frame, extra, message = CASES[case]
    data, out = tmp_path / "runs.csv", tmp_path / "fits.csv"
    frame.to_csv(data, index=False)
    result = run(data, *FIT, *extra, "--out", out)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in lines[0]
    assert result.stdout == "" and not out.exists()


FILES = {
    "corrupt.parquet": (None, "cannot read data file"),
    "junk.csv": (bytes(range(256)) * 4, "is binary, not CSV text"),
    "empty.csv": (b"", "No columns to parse from file"),
    "runs.json": (b"{}", "expected a .csv or .parquet extension"),
    "folder.csv": ("dir", "is a directory"),
    "absent.csv": ("absent", "does not exist"),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_unreadable_data_file_exits_2(tmp_path, name):
    content, message = FILES[name]
    path = tmp_path / name
    if content is None:
        groups_frame().to_parquet(path)
        path.write_bytes(path.read_bytes()[:-40])
    elif content == "dir":
        path.mkdir()
    elif content != "absent":
        path.write_bytes(content)
    result = run(path, *FIT, "--out", tmp_path / "fits.csv")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert message in result.stderr and str(path) in result.stderr.replace("\n", "")


@pytest.mark.parametrize(
    ("out", "message"),
    [("fits.xlsx", "expected a .csv or .parquet extension"), ("nowhere/fits.csv", "does not exist")],
)
def test_bad_output_path_exits_2_before_fitting(tmp_path, out, message):
    data = tmp_path / "runs.csv"
    groups_frame().to_csv(data, index=False)
    result = run(data, *FIT, "--out", tmp_path / out)
    assert result.exit_code == 2 and message in result.stderr


def test_console_script_prints_no_traceback(tmp_path):
    """The installed entry point, in its own process: exit status 2, stderr one line."""
    data = tmp_path / "runs.csv"
    damaged("size", 3, "abc").to_csv(data, index=False)
    script = os.path.join(os.path.dirname(sys.executable), "lawfit")
    proc = subprocess.run([script, "fit", str(data), *FIT, "--out", str(tmp_path / "o.csv")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: data: column 'size' (input x) is not a number at row 3"


def test_console_script_reuses_compiled_programs(tmp_path):
    """JAX's persistent compilation cache: the first command stores its compiled programs,
    a second identical one loads them (no new entries) and gives the same table."""
    data = tmp_path / "runs.csv"
    groups_frame().to_csv(data, index=False)
    script = os.path.join(os.path.dirname(sys.executable), "lawfit")
    # every program is stored (with the default threshold, which programs take over 0.5 s
    # to compile depends on the machine's load)
    env = dict(os.environ, LAWFIT_COMPILE_CACHE=str(tmp_path / "cache"),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    tables, entries = [], []
    for i in range(2):
        out = tmp_path / f"o{i}.csv"
        proc = subprocess.run([script, "fit", str(data), *FIT, "--by", "run", "--out", str(out)],
                              capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        tables.append(pd.read_csv(out))
        entries.append(sorted(p.name for p in (tmp_path / "cache").iterdir()))
    assert entries[0] and entries[1] == entries[0]
    pd.testing.assert_frame_equal(tables[0], tables[1])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run on 12 groups (4 per kernel call) and its output table."""
    folder = tmp_path_factory.mktemp("cli")
    data, out = folder / "runs.parquet", folder / "reference.parquet"
    groups_frame(12).to_parquet(data)
    result = run(data, *FIT, *FOUR_PER_CALL, "--by", "run", "--out", out)
    assert result.exit_code == 0, result.output
    return data, pd.read_parquet(out)


def test_output_table(reference):
    _, table = reference
    assert list(table.columns) == ["run", "E", "A", "alpha", "objective", "status", "steps",
                                   "n_points", "n_converged", "message", "warning"]
    assert (table["status"] == "converged").all() and len(table) == 12


def test_one_start_given_as_pairs_is_the_api_fit_from_that_start(tmp_path, reference):
    """--starts NAME=VALUE,...: one start per group, the same fit as lawfit.fit from it."""
    import lawfit

    data, _ = reference
    out = tmp_path / "one.parquet"
    start = {"E": 1.2, "A": 30.0, "alpha": 0.15}
    pairs = ",".join(f"{k}={v}" for k, v in start.items())
    result = run(data, *FIT, "--starts", pairs, "--by", "run", "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    api = lawfit.fit(pd.read_parquet(data), "power_law", {"x": "size"}, "loss", by="run",
                     loss="log-mse", starts=pd.DataFrame([start])).params
    assert (table["status"] == "converged").all()
    pd.testing.assert_frame_equal(table, api.reset_index(drop=True), check_dtype=False)


def test_skip_reports_invalid_group_and_fits_the_rest(tmp_path, reference):
    data, table = reference
    frame = pd.read_parquet(data).astype({"loss": object})
    frame.loc[frame.index[frame["run"] == "r5"][2], "loss"] = "diverged"
    frame.to_csv(tmp_path / "runs.csv", index=False)
    out = tmp_path / "fits.csv"
    result = run(tmp_path / "runs.csv", *FIT, *FOUR_PER_CALL, "--by", "run", "--on-invalid", "skip",
                 "--out", out)
    assert result.exit_code == 0, result.output
    assert "'invalid_input': 1" in result.stdout
    fits = pd.read_csv(out).set_index("run")
    assert fits.loc["r5", "status"] == "invalid_input"
    assert fits.loc["r5", "message"] == "1 invalid row: column 'loss' (y) is not a number at row 42"
    others = fits.drop(index="r5")
    expected = table.set_index("run").drop(index="r5")
    assert others["status"].eq("converged").all()
    np.testing.assert_allclose(others[["E", "A", "alpha"]], expected[["E", "A", "alpha"]], rtol=1e-12)


def test_resume_after_interrupt_gives_the_uninterrupted_table(tmp_path, reference, monkeypatch):
    data, table = reference
    out = tmp_path / "fits.parquet"
    partial = tmp_path / "fits.parquet.partial.parquet"
    real_bar = cli_fit.progress_bar

    @contextlib.contextmanager
    def interrupting_bar(description):
        def update(done, total):
            raise KeyboardInterrupt

        yield update

    monkeypatch.setattr(cli_fit, "progress_bar", interrupting_bar)
    result = run(data, *FIT, *FOUR_PER_CALL, "--by", "run", "--resume", "--out", out)
    assert result.exit_code == 130
    assert "rerun the same command (with --resume)" in result.stderr.replace("\n", " ")
    assert partial.exists() and not out.exists()
    assert len(pd.read_parquet(partial)) == 4

    monkeypatch.setattr(cli_fit, "progress_bar", real_bar)
    result = run(data, *FIT, *FOUR_PER_CALL, "--by", "run", "--resume", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"resuming from {partial}" in result.stdout.replace("\n", "")
    assert not partial.exists()
    pd.testing.assert_frame_equal(pd.read_parquet(out), table, check_exact=True)


def test_ill_conditioned_fit_prints_a_warning_line(tmp_path):
    """A pure power law (no floor): the E -> 0 warning reaches stderr as one readable line,
    and the fit is still written."""
    size = np.logspace(6, 10, 8)
    noise = np.exp(0.001 * np.random.default_rng(0).standard_normal(8))
    pd.DataFrame({"size": size, "loss": 50 * size**-0.2 * noise}).to_csv(tmp_path / "runs.csv", index=False)
    result = run(tmp_path / "runs.csv", *FIT, "--out", tmp_path / "fits.csv")
    assert result.exit_code == 0, result.output
    stderr = result.stderr.replace("\n", " ")
    assert "warning: 1 of 1 fits are ill-conditioned, at a bound or stopped by the step cap" in stderr
    assert "lower bound 0" in pd.read_csv(tmp_path / "fits.csv")["warning"][0]


def _fresh_python(code: str, **env) -> str:
    """Run ``code`` in a new interpreter (this one has jax and more imported already)."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, **env))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_lawfit_loads_no_bayes_or_plotting_stack():
    """``import lawfit`` (and a MAP fit's names) import neither NumPyro, matplotlib nor
    ArviZ; the Bayesian names still resolve on first use (PEP 562)."""
    heavy = "('numpyro', 'matplotlib', 'arviz')"
    out = _fresh_python(
        "import sys, lawfit\n"
        f"print(sorted(m for m in {heavy} if m in sys.modules))\n"
        "lawfit.fit, lawfit.Law, lawfit.load\n"
        f"print(sorted(m for m in {heavy} if m in sys.modules))\n"
        "print(lawfit.posterior.__module__, lawfit.Forecast.__name__, lawfit.bayes.__name__)\n"
    )
    assert out.splitlines() == ["[]", "[]", "lawfit.bayes._posterior Forecast lawfit.bayes"]


def test_plot_selects_no_matplotlib_backend():
    """Importing lawfit.plot leaves the backend alone (inline figures in notebooks)."""
    out = _fresh_python("import matplotlib, lawfit.plot; print(matplotlib.get_backend())", MPLBACKEND="svg")
    assert out.lower() == "svg"


def test_help_imports_no_jax():
    """``lawfit --help`` loads neither jax nor lawfit's packages (how fast it answers is
    measured outside the tests, not asserted)."""
    out = _fresh_python("import sys, lawfit.cli; print(sorted(m for m in ('jax', 'pandas', 'lawfit.fitting', "
                        "'lawfit.data') if m in sys.modules))")
    assert out == "[]"
    script = os.path.join(os.path.dirname(sys.executable), "lawfit")
    proc = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "forecast" in proc.stdout, proc.stderr
