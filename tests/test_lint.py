"""ruff on the project's Python, and on the code readers see, held to the 84 columns the page shows."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).parent.parent
COLUMN = 84  # characters of code that fit the page's content column without scrolling
FENCED_PYTHON = re.compile(r"^( *)```(?:python|\{\.python[^}]*\})[^\n]*\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
SNIPPET_LINE = re.compile(r"^\s*-+8<-+")


def ruff(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True)


def test_project_code_passes_ruff():
    result = ruff(".")
    assert result.returncode == 0, f"`ruff check .` found problems (`ruff check --fix .` mends some):\n{result.stdout}"


def test_code_shown_on_pages_passes_ruff_within_the_column(tmp_path):
    """Snippet files, and each fence's own lines (written out as `<page>-<line>.py`, so reports name both)."""
    for page in sorted((ROOT / "docs").rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        for match in FENCED_PYTHON.finditer(text):
            code = "".join(line for line in match.group(2).splitlines(True) if not SNIPPET_LINE.match(line))
            if code.strip():
                line = text.count("\n", 0, match.start()) + 1
                (tmp_path / f"{page.stem}.md-{line}.py").write_text(textwrap.dedent(code), encoding="utf-8")
    assert list(tmp_path.glob("*.py")), "no Python fence found on the pages"
    result = ruff("--line-length", str(COLUMN), "--config", str(ROOT / "pyproject.toml"), str(tmp_path), "snippets")
    report = result.stdout.replace(f"{tmp_path}/", "docs/")
    assert result.returncode == 0, f"code shown on the pages fails ruff at {COLUMN} columns:\n{report}"
