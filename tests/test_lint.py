"""ruff on the project's Python, and on the code readers see, held to the 84 columns the page shows."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

from page_doctest import python_fences
from project import MARKDOWN_PAGES, ROOT

COLUMN = 84  # characters of code that fit the page's content column without scrolling
SNIPPET_LINE = re.compile(r"^\s*-+8<-+")


def ruff(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True)


def test_project_code_passes_ruff():
    result = ruff(".")
    assert result.returncode == 0, f"`ruff check .` found problems (`ruff check --fix .` mends some):\n{result.stdout}"


def shown_code(text: str) -> dict[int, str]:
    """Each Python fence's own lines (its snippet lines left to the snippet files), by the fence's page line."""
    shown = {}
    for fence in python_fences(text):  # the doc-test's fence finder: the lint sees every fence it runs
        code = "".join(line for line in fence.content.splitlines(True) if not SNIPPET_LINE.match(line))
        if code.strip():
            shown[fence.map[0] + 1] = textwrap.dedent(code)
    return shown


def test_the_lint_sees_every_way_of_opening_a_python_fence():
    """Every opening the doc-test runs (and `notest`, still shown), inside a note too; an Output block is not code."""
    openings = ["```python", "```py", "```python3", "```{.py}", '```{.python title="x"}', "```{.python notest}",
                "~~~python", "````python"]
    text = "".join(f"{opening}\nx{n} = 1\n{opening[:3] if opening[3] != '`' else '````'}\n\n"
                   for n, opening in enumerate(openings))
    text += '!!! note\n\n    ```py\n    y = 1\n    ```\n\n```{.text title="Output"}\nz = 1\n```\n'
    shown = shown_code(text)
    expected = {1 + 4 * n: f"x{n} = 1\n" for n in range(len(openings))} | {4 * len(openings) + 3: "y = 1\n"}
    assert shown == expected, f"the lint sees {shown}"


def test_code_shown_on_pages_passes_ruff_within_the_column(tmp_path):
    """Snippet files, and each fence's own lines (written out as `<page>-<line>.py`, so reports name both)."""
    for page in MARKDOWN_PAGES:
        for line, code in shown_code(page.read_text(encoding="utf-8")).items():
            (tmp_path / f"{page.stem}.md-{line}.py").write_text(code, encoding="utf-8")
    assert list(tmp_path.glob("*.py")), "no Python fence found on the pages"
    result = ruff("--line-length", str(COLUMN), "--config", str(ROOT / "pyproject.toml"), str(tmp_path), "snippets")
    report = result.stdout.replace(f"{tmp_path}/", "docs/")
    assert result.returncode == 0, f"code shown on the pages fails ruff at {COLUMN} columns:\n{report}"
