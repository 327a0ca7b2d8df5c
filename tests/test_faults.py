"""Faults that only a whole project shows fail `mkdocs build --strict` or `pytest`, with the page named.

Each fault is injected into a throwaway copy of the project, then the build or pytest runs there as a reader
of README would run it. The doc-test's own slips are tested on small pages in `test_page_doctest.py`, and
the hooks' own errors in `test_hooks.py`; what is left here is what MkDocs, its plugins and the guard decide.
"""

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from project import ROOT, build_site, read_config, write_config

pytestmark = pytest.mark.slow

PROJECT = ["pyproject.toml", "mkdocs.yml", "hooks", "overrides", "vendor", "snippets", "project", "page_doctest"]

FAILING_NOTEBOOK = json.dumps({
    "cells": [{"cell_type": "code", "id": "fails", "metadata": {}, "execution_count": None, "outputs": [],
               "source": "raise RuntimeError('a failing cell')"}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
})
# One build per fault that stops a build; warnings (links, anchors) share one build, which reports them all.
BUILDS = {
    "links": {
        "index.md": "# Home\n\nSee [the page](no-such-page.md).\n",
        "other.md": "# Other\n\nSee [the section](index.md#no-such-section).\n",
    },
    "missing_snippet": {"index.md": '# Home\n\n```python\n--8<-- "snippets/no_such_file.py"\n```\n'},
    "failing_notebook_cell": {"index.md": "# Home\n", "broken.ipynb": FAILING_NOTEBOOK},
    "invalid_front_matter": {
        "index.md": "---\ndescription: Fine.\n---\n\n# Home\n",
        "broken.md": "---\ndescription: Why: because\n---\n\n# Broken\n",
    },
}
EXPECTED_IN_LOG = {
    "links": ["index.md", "no-such-page.md", "other.md", "#no-such-section"],
    "missing_snippet": ["index.md", "no_such_file.py"],
    "failing_notebook_cell": ["broken.ipynb", "a failing cell"],
    "invalid_front_matter": ["docs/broken.md: front matter is not valid YAML: line 2, mapping values are not allowed"],
}
# A fence that renders but that the doc-test does not run: only the guard test sees it.
HIDDEN_FENCE = "# Home\n\n```python\nx = 1\n```\n\n```{.python notest}\nprint('hidden')\n```\n"


def copy_project(destination: Path, pages: dict[str, str]) -> Path:
    """A copy of the project whose docs/ holds only `pages` (name: text), all of them in the nav.

    The figure scripts stay behind: drawing figures is not what these faults are about, and it is slow.
    """
    for name in PROJECT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("figure_*.py", "__pycache__"))
        else:
            shutil.copy(source, destination / name)
    shutil.copytree(ROOT / "docs" / "stylesheets", destination / "docs" / "stylesheets")
    for name, text in pages.items():
        (destination / "docs" / name).write_text(text)
    config = read_config(destination / "mkdocs.yml")
    write_config({**config, "nav": list(pages)}, destination / "mkdocs.yml")
    return destination


@pytest.fixture(scope="module")
def build_runs(tmp_path_factory):
    """All the faulty builds at once, one process each."""
    projects = {name: copy_project(tmp_path_factory.mktemp(name), pages) for name, pages in BUILDS.items()}
    with ThreadPoolExecutor(len(projects)) as pool:
        runs = {name: pool.submit(build_site, project / "site", project=project, timeout=120)
                for name, project in projects.items()}
        return {name: run.result() for name, run in runs.items()}


@pytest.mark.parametrize("fault", BUILDS)
def test_build_fails_naming_the_fault(build_runs, fault):
    build = build_runs[fault]
    assert build.returncode is not None, build.log
    assert build.returncode != 0, f"mkdocs build --strict passed despite {fault}:\n{build.log}"
    for expected in EXPECTED_IN_LOG[fault]:
        assert expected in build.log, f"the log does not name {expected!r}:\n{build.log}"


def test_guard_fails_on_a_fence_that_did_not_run(tmp_path):
    project = copy_project(tmp_path, {"index.md": HIDDEN_FENCE})
    shutil.copytree(ROOT / "tests", project / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "docs", "tests/test_site.py"],
        cwd=project, capture_output=True, text=True,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "docs/index.md: 2 Python blocks rendered, 1 collected, 1 executed" in run.stdout, run.stdout
