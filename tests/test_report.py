"""``lawfit report DIR``: the page built from a real ``lawfit fit`` output, from Hitchhiker- and
forecast-shaped tables, refusals (exit 2 naming DIR), and the page rendered by headless
Chromium."""

import base64
import re
import shutil
import subprocess

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawfit.cli import app


def invoke(*args):
    return CliRunner().invoke(app, list(map(str, args)))


@pytest.fixture(scope="module")
def fit_dir(tmp_path_factory):
    """A folder with the data, a grouped `lawfit fit` output and its bootstrap draws (the
    shapes and options of test_cli_fit's fits, whose compiled kernels this one reuses)."""
    folder = tmp_path_factory.mktemp("fit_out")
    rng = np.random.default_rng(0)
    size = np.logspace(6, 10, 8)
    pd.concat([pd.DataFrame({"run": f"r{g}", "size": size,
                             "loss": (1.5 + 0.2 * g + 50 * size**-0.2) * np.exp(0.01 * rng.standard_normal(8))})
               for g in range(3)]).to_csv(folder / "data.csv", index=False)
    result = invoke("fit", folder / "data.csv", "--law", "power_law", "--x", "x=size", "--y", "loss",
                    "--by", "run", "--loss", "log-mse", "--starts", "4", "--bootstrap", "8",
                    "--out", folder / "params.csv", "--draws", folder / "draws.csv",
                    "--plot", folder / "fit.png")
    assert result.exit_code == 0, result.output
    return folder


def test_report_of_a_fit_output(fit_dir):
    result = invoke("report", fit_dir)
    assert result.exit_code == 0, result.output
    page = (fit_dir / "report.html").read_text()
    params = pd.read_csv(fit_dir / "params.csv")
    # the parameters table, with each group's fitted E to 4 digits
    assert "<h2>Fitted parameters</h2>" in page
    for _, row in params.iterrows():
        assert f"<td>{row['E']:.4g}</td>" in page
    # `lawfit fit --plot`'s figure: a drawing with the data and a law per group
    drawn = matplotlib.image.imread(fit_dir / "fit.png")
    assert drawn[..., :3].std() > 0.05
    # one pair plot per group (3) and fit.png, embedded; nothing fetched from outside
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 4
    assert "<h2>Figure: fit.png</h2>" in page
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    png = base64.b64decode(sources[0].split(",", 1)[1])
    assert png[:4] == b"\x89PNG"
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "Not recognised: data.csv." in page
    assert page.count("<table") == 2  # parameters, draws' quantiles
    # --out elsewhere, and the report is not read back as an input
    other = fit_dir.parent / "elsewhere.html"
    assert invoke("report", fit_dir, "--out", other).exit_code == 0
    assert "Not recognised: data.csv." in other.read_text()  # not the earlier report.html


def test_report_of_hitchhiker_forecast_and_optimal_tables(tmp_path):
    rng = np.random.default_rng(1)
    are = pd.DataFrame({"family": np.repeat(["pythia", "olmo"], 6), "method": ["colpret", "huber-grid"] * 6,
                        "are": rng.uniform(0.01, 0.1, 12)})
    are.to_csv(tmp_path / "are.csv", index=False)
    pd.DataFrame({"method": ["colpret"], "family": ["all"], "median_are": [0.03]}).to_csv(
        tmp_path / "leaderboard.csv", index=False)
    at = np.array([1e11, 1e12])
    pd.DataFrame({"size": at, "median": [2.0, 1.9], "lo_95": [1.8, 1.6], "hi_95": [2.2, 2.3]}).to_parquet(
        tmp_path / "forecast.parquet")
    pd.DataFrame({"C": [1e21, 1e22], "N_opt": [1e9, 3e9], "D_opt": [2e10, 6e10], "status": "ok"}).to_csv(
        tmp_path / "optimal.csv", index=False)
    (tmp_path / "notes.txt").write_text("not a table")
    result = invoke("report", tmp_path, "--out", tmp_path / "summary.html")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "summary.html").read_text()
    titles = re.findall(r"<h2>([^<]+)</h2>", page)
    assert titles == ["Forecast", "Compute-optimal allocation", "Method comparison (ARE)", "Leaderboard"]
    assert len(re.findall(r"<img ", page)) == 3  # forecast, frontier, ARE boxes
    median = are.groupby(["family", "method"])["are"].median()
    assert f"<td>{median['olmo', 'huber-grid']:.4g}</td>" in page
    assert "Not recognised: notes.txt." in page


def test_report_refuses_a_folder_with_nothing_recognised(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    result = invoke("report", tmp_path)
    assert result.exit_code == 2
    assert f"DIR {str(tmp_path)!r} holds nothing the report recognises (data.csv)" in result.output
    assert not (tmp_path / "report.html").exists()
    missing = invoke("report", tmp_path / "absent")
    assert missing.exit_code == 2
    assert "is not a folder" in missing.output
    assert "Traceback" not in result.output + missing.output


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed with apt-get when missing and we are root; else skip."""
    import os

    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("chromium is not installed and apt-get cannot install it (not root)")
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    if subprocess.run(install, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True)
        done = subprocess.run(install, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"apt-get install chromium failed: {done.stderr.strip()[-200:]}")
    return shutil.which("chromium") or pytest.skip("chromium not on PATH after installing")


def _count(pixels: np.ndarray, rgb, tolerance: float) -> int:
    return int((np.abs(pixels[..., :3] - np.array(rgb) / 255).max(axis=-1) < tolerance).sum())


def test_report_renders_in_headless_chromium(fit_dir, chromium, tmp_path):
    out = tmp_path / "report.html"
    assert invoke("report", fit_dir, "--out", out).exit_code == 0
    browser = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([*browser, "--dump-dom", out.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    assert dom.count("<table") == 2 and dom.count("<img") == 4
    shot = tmp_path / "shot.png"
    subprocess.run([*browser, f"--screenshot={shot}", "--window-size=1200,2400", out.as_uri()],
                   capture_output=True, timeout=120, check=True)
    pixels = matplotlib.image.imread(shot)
    assert pixels[..., :3].std() > 0.05  # not a blank page
    # the tables' header cells (#f0f3f7) and the figures' histogram bars (matplotlib's C0
    # at alpha 0.7 over white) are on screen
    assert _count(pixels, (240, 243, 247), 0.01) > 2000
    bars = _count(pixels, (98, 160, 203), 0.05)
    assert bars > 2000
    # the figures sit below the parameters table: bars only under the first header cells
    header_rows = np.nonzero(np.abs(pixels[..., :3] - np.array([240, 243, 247]) / 255).max(-1) < 0.01)[0]
    bar_rows = np.nonzero(np.abs(pixels[..., :3] - np.array([98, 160, 203]) / 255).max(-1) < 0.05)[0]
    assert header_rows.min() < bar_rows.min()


def test_fit_plot_option_is_checked_before_fitting(tmp_path):
    frame = pd.DataFrame({"run": np.repeat([f"r{g}" for g in range(21)], 4),
                          "size": np.tile([1e6, 1e7, 1e8, 1e9], 21), "loss": 3.0})
    frame.to_csv(tmp_path / "data.csv", index=False)
    args = ["fit", tmp_path / "data.csv", "--law", "power_law", "--x", "x=size", "--y", "loss",
            "--by", "run", "--out", tmp_path / "params.csv"]
    many = invoke(*args, "--plot", tmp_path / "fit.png")
    assert many.exit_code == 2 and "--plot: more than 20 groups to draw" in many.output
    wrong = invoke(*args, "--plot", tmp_path / "fit.gif")
    assert wrong.exit_code == 2 and "--plot" in wrong.output and ".png, .svg, .pdf" in wrong.output
    assert not (tmp_path / "params.csv").exists()  # nothing was fitted
