"""The built site: `mkdocs build --strict` is clean, and every Python block it shows was executed."""

import re
from collections import Counter
from pathlib import Path

import pytest

from project import DOCS, MARKDOWN_PAGES, PAGES, ROOT, url_path

PYTHON_BLOCK = re.compile(r'<div class="language-(?:python|py|python3) highlight">')


def rendered(site: Path, page: Path) -> str:
    return (site / url_path(page) / "index.html").read_text(encoding="utf-8")


def test_every_page_in_docs_is_in_the_nav():
    """The pages the tests walk are the nav's; a page outside it would escape them (and warn in the build)."""
    files = {*DOCS.rglob("*.md"), *DOCS.rglob("*.ipynb")}
    missing = sorted(str(path.relative_to(ROOT)) for path in files - set(PAGES))
    assert not missing, f"not in mkdocs.yml's nav: {missing}"
    assert len(PAGES) == len(set(PAGES)), "a page is listed twice in mkdocs.yml's nav"


def test_build_is_strict_and_clean(build):
    build.check()
    problems = [line for line in build.log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert not problems, "mkdocs build printed:\n" + "\n".join(problems)


def test_every_python_block_on_the_site_ran(site, executed_fences, request):
    collected = Counter(Path(item.path) for item in request.session.items if item.get_closest_marker("markdown-docs"))
    if not collected:
        pytest.skip("the pages' fences were not collected in this run: run `pytest` with no arguments")
    shown = {page: len(PYTHON_BLOCK.findall(rendered(site, page))) for page in MARKDOWN_PAGES}
    assert sum(shown.values()) > 0, "no Python block found in the rendered site: has the HTML markup changed?"
    mismatches = [
        f"{page.relative_to(ROOT)}: {shown[page]} Python blocks rendered, {collected[page]} collected, "
        f"{executed_fences[page]} executed"
        for page in MARKDOWN_PAGES
        if not shown[page] == collected[page] == executed_fences[page]
    ]
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("page", MARKDOWN_PAGES, ids=lambda page: page.name)
def test_no_paragraph_swallows_a_code_block(site, page):
    """Text right under a fence's closing line, with no blank line, becomes a paragraph wrapped around the block:
    invalid HTML that browsers split, leaving its links outside any paragraph (unstyled, an axe violation)."""
    swallowed = re.findall(r"<p[^>]*>\s*<div[^>]*>.*?</pre></div>\s*([^<\n]{0,60})", rendered(site, page), re.S)
    assert not swallowed, f"{page.relative_to(ROOT)}: add a blank line after the fence closing before: {swallowed}"
