"""The notebooks are documentation that must work: each one runs top to bottom in a Jupyter
kernel (nbclient), and each is stored in git without outputs."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
#: Seconds a single cell may take before the run fails (the notebooks use small settings).
CELL_TIMEOUT = 600


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {"00_quick_start.ipynb", "01_chinchilla_refit.ipynb",
            "02_hitchhiker_leaderboard.ipynb", "03_borrowing.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code"
    for i, cell in enumerate(code):
        assert cell["outputs"] == [], f"{path.name}: code cell {i} has outputs"
        assert cell["execution_count"] is None, f"{path.name}: code cell {i} has a count"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    errors = [o for c in notebook.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not errors
