"""The built site: `mkdocs build --strict` is clean, and every Python block it shows was executed."""

import re
from collections import Counter
from pathlib import Path

import pytest

from pages import url_path

ROOT = Path(__file__).parent.parent
PAGES = sorted((ROOT / "docs").rglob("*.md"))
PYTHON_BLOCK = re.compile(r'<div class="language-(?:python|py|python3) highlight">')


def rendered(site: Path, page: Path) -> str:
    return (site / url_path(page) / "index.html").read_text(encoding="utf-8")


def test_build_is_strict_and_clean(build):
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.log}"
    problems = [line for line in build.log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert not problems, "mkdocs build printed:\n" + "\n".join(problems)


def test_every_python_block_on_the_site_ran(build, executed_fences, request):
    assert build.returncode == 0, "the site did not build; see test_build_is_strict_and_clean"
    collected = Counter(Path(item.path) for item in request.session.items if item.get_closest_marker("markdown-docs"))
    if not collected:
        pytest.skip("the pages' fences were not collected in this run: run `pytest` with no arguments")
    shown = {page: len(PYTHON_BLOCK.findall(rendered(build.site, page))) for page in PAGES}
    assert sum(shown.values()) > 0, "no Python block found in the rendered site: has the HTML markup changed?"
    mismatches = [
        f"{page.relative_to(ROOT)}: {shown[page]} Python blocks rendered, {collected[page]} collected, "
        f"{executed_fences[page]} executed"
        for page in PAGES
        if not shown[page] == collected[page] == executed_fences[page]
    ]
    assert not mismatches, "\n".join(mismatches)
