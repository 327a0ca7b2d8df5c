"""Each fault a writer can make fails the tests or the build, with the page named.

Every fault is injected into a throwaway copy of the project, then `pytest` or `mkdocs build --strict` runs
there as a reader of README would run it.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PROJECT = ["conftest.py", "pyproject.toml", "mkdocs.yml", "hooks", "overrides", "vendor", "snippets"]
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}

BROKEN_SNIPPET = "x = 1\ny = 2\nraise RuntimeError('broken snippet')\n"

DOCTEST_FAULTS = {
    "missing_file.md": '# Page\n\n```python\n--8<-- "snippets/no_such_file.py"\n```\n',
    "missing_section.md": '# Page\n\n```python\n--8<-- "snippets/linearity_model.py:no_such_section"\n```\n',
    "raises_in_admonition.md": '# Page\n\n!!! note\n\n    Text.\n\n    ```python\n    1 / 0\n    ```\n',
    "raises_in_tab.md": '# Page\n\n=== "One"\n\n    ```python\n    print("fine")\n    ```\n\n'
    '    ```text title="Output"\n    fine\n    ```\n\n=== "Two"\n\n    ```python\n    [][1]\n    ```\n',
    "raises_in_snippet.md": '# Page\n\n```python\n--8<-- "snippets/broken.py"\n```\n',
    "stale_output.md": '# Page\n\n```python\nprint("printed now")\n```\n\n```text title="Output"\nshown before\n```\n',
}

BUILD_FAULTS = {
    "broken_link": ("See [the page](no-such-page.md).", "no-such-page.md"),
    "broken_anchor": ("See [the section](linearity-model.md#no-such-section).", "#no-such-section"),
    "tex_error": (r"Math: $\frac{1}{$.", r"KaTeX cannot typeset '\\frac{1}{'"),
    "missing_snippet": ('```python\n--8<-- "snippets/no_such_file.py"\n```', "no_such_file.py"),
    "math_in_heading": ("## About $x^2$\n\nText.", "holds math"),
}
FAILING_NOTEBOOK = json.dumps({
    "cells": [{"cell_type": "code", "id": "fails", "metadata": {}, "execution_count": None, "outputs": [],
               "source": "raise RuntimeError('a failing cell')"}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
})
# Faults in files other than the page: (page text, {path: content}, what the log must name).
FILE_FAULTS = {
    "failing_figure": ("# Home\n", {"snippets/figure_broken.py": "def draw():\n    raise ValueError('bad figure')\n"},
                       "snippets/figure_broken.py: drawing the figure failed"),
    "failing_notebook_cell": ("# Home\n", {"docs/broken.ipynb": FAILING_NOTEBOOK}, "a failing cell"),
}
# A fence that renders but that the doc-test does not run: only the guard test sees it.
HIDDEN_FENCE = "# Home\n\n```python\nx = 1\n```\n\n```{.python notest}\nprint('hidden')\n```\n"


def copy_project(destination: Path, pages: dict[str, str]) -> Path:
    """A copy of the project whose docs/ holds only `pages` (name: Markdown), all of them in the nav.

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
    config = (destination / "mkdocs.yml").read_text()
    nav = re.search(r"^nav:\n(?:  - .*\n)+", config, flags=re.M).group(0)
    listed = "".join(f"  - {name}\n" for name in pages)
    (destination / "mkdocs.yml").write_text(config.replace(nav, f"nav:\n{listed}"))
    return destination


@pytest.fixture(scope="module")
def doctest_run(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("faulty"), DOCTEST_FAULTS)
    (project / "snippets" / "broken.py").write_text(BROKEN_SNIPPET)
    pages = [f"docs/{name}" for name in DOCTEST_FAULTS]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--continue-on-collection-errors", *pages],
        cwd=project, capture_output=True, text=True, env=ENV,
    )


@pytest.fixture(scope="module")
def build_runs(tmp_path_factory):
    """One build per fault, all at once: a build stops at its first error."""
    started = {}
    faults = {name: (f"# Home\n\n{markdown}\n", {}) for name, (markdown, _) in BUILD_FAULTS.items()}
    faults |= {name: (page, files) for name, (page, files, _) in FILE_FAULTS.items()}
    for name, (page, files) in faults.items():
        pages = {"index.md": page, "linearity-model.md": "# Model\n\n## The experiment\n"}
        pages |= {path.removeprefix("docs/"): text for path, text in files.items() if path.startswith("docs/")}
        project = copy_project(tmp_path_factory.mktemp(name), pages)
        for path, content in files.items():
            (project / path).write_text(content)
        started[name] = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "build", "--strict"],
            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV,
        )
    return {name: finish(process) for name, process in started.items()}


def finish(process, seconds=120):
    try:
        return process.communicate(timeout=seconds)[0], process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        return f"the build hung for {seconds} s:\n{process.communicate()[0]}", None


@pytest.fixture(scope="module")
def guard_run(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("hidden"), {"index.md": HIDDEN_FENCE})
    shutil.copytree(ROOT / "tests", project / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "docs", "tests/test_site.py"],
        cwd=project, capture_output=True, text=True, env=ENV,
    )


def test_guard_fails_on_a_fence_that_did_not_run(guard_run):
    assert guard_run.returncode == 1, guard_run.stdout + guard_run.stderr
    assert "docs/index.md: 2 Python blocks rendered, 1 collected, 1 executed" in guard_run.stdout, guard_run.stdout


def test_doctest_run_fails(doctest_run):
    assert doctest_run.returncode == 1, doctest_run.stdout + doctest_run.stderr
    assert "1 passed" in doctest_run.stdout, "the healthy fence in the tab should still pass"


@pytest.mark.parametrize(
    "page, expected",
    [
        ("missing_file.md", "line 3: cannot embed the snippet: Snippet at path 'snippets/no_such_file.py' could not be found"),
        ("missing_section.md", "Snippet section 'no_such_section' could not be located"),
        ("raises_in_admonition.md", "docs/raises_in_admonition.md: the Python fence at line 7 failed"),
        ("raises_in_tab.md", "docs/raises_in_tab.md: the Python fence at line 15 failed"),
        ("raises_in_snippet.md", 'File "snippets/broken.py", line 3 (embedded in docs/raises_in_snippet.md at line 4)'),
        ("stale_output.md", "-shown before\n+printed now"),
    ],
)
def test_fault_fails_with_page_named(doctest_run, page, expected):
    report = doctest_run.stdout
    assert f"docs/{page}" in report.split("short test summary info")[-1], f"{page} is not reported as failing:\n{report}"
    assert expected in report, f"expected {expected!r} in the report:\n{report}"


def test_stale_output_shows_a_diff(doctest_run):
    assert "--- shown on stale_output.md (line 8)\n+++ printed by the code now" in doctest_run.stdout


# What each build's log must name: the page for faults in it, the culprit for all.
EXPECTED_IN_LOG = {name: ["index.md", text] for name, (_, text) in BUILD_FAULTS.items()}
EXPECTED_IN_LOG |= {name: [text] for name, (_, _, text) in FILE_FAULTS.items()}


@pytest.mark.parametrize("fault", EXPECTED_IN_LOG)
def test_build_fails_naming_the_fault(build_runs, fault):
    log, returncode = build_runs[fault]
    assert returncode is not None, log
    assert returncode != 0, f"mkdocs build --strict passed despite {fault}:\n{log}"
    for expected in EXPECTED_IN_LOG[fault]:
        assert expected in log, f"the log does not name {expected!r}:\n{log}"
