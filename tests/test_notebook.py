"""The notebook: stored without outputs; executed once, by the build, into a lean page that shows its results.

The build runs every cell (`execute: true`, `allow_errors: false`: a failing cell fails the build); the tests
read the page it made instead of running the notebook again.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from project import NOTEBOOKS, ROOT, url_path

MAX_PAGE_BYTES = 100_000  # mkdocs-jupyter's page was 651 KB before hooks/notebook.py; ours is about 46 KB
OUTPUT = re.compile(r'class="jp-RenderedText jp-OutputArea-output" data-mime-type="([^"]+)"')


def test_there_is_a_notebook():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    stored = [cell.id for cell in notebook.cells if cell.cell_type == "code" and (cell.outputs or cell.execution_count)]
    assert not stored, f"cells stored with outputs (clear them before committing): {stored}"


def built_page(site: Path, path: Path) -> str:
    return (site / url_path(path) / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_built_notebook_shows_its_results(site, path):
    outputs = OUTPUT.findall(built_page(site, path))
    code_cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    assert len(outputs) >= 3, f"the page shows {len(outputs)} results for {len(code_cells)} code cells: did they run?"
    assert set(outputs) == {"text/plain"}, f"cells wrote something other than plain output (warnings?): {outputs}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_built_notebook_page_is_lean(site, path):
    page = built_page(site, path)
    styles = re.findall(r"<style[^>]*>.*?</style>", page, flags=re.DOTALL)
    jupyter_css = [style[:80] for style in styles if "jp-" in style or "jupyter" in style]
    assert not jupyter_css, f"mkdocs-jupyter's inline JupyterLab CSS is back (see hooks/notebook.py): {jupyter_css}"
    size = len(page.encode("utf-8"))
    assert size <= MAX_PAGE_BYTES, f"the notebook page is {size:,} bytes, over {MAX_PAGE_BYTES:,}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_the_first_cell_finds_the_checker_in_the_folder_it_runs_in(tmp_path, path):
    """What the notebook tells a reader who downloaded it or opened it in Colab: put linearity.py in its folder."""
    setup = next(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
    run = [sys.executable, "-c", setup]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    alone = subprocess.run(run, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "No module named 'linearity'" in alone.stderr, alone.stderr
    shutil.copy(ROOT / "snippets" / "linearity.py", tmp_path)
    beside = subprocess.run(run, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert beside.returncode == 0, beside.stderr
