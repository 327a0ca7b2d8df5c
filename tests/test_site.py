"""The built site: `mkdocs build --strict` is clean, and every Python block it shows was executed."""

import re
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin

import pytest
from bs4 import BeautifulSoup

from project import DOCS, MARKDOWN_PAGES, PAGES, ROOT, page_id, url_path
from project.published_anchors import HEADINGS, read_record

MOST_CODE_BLOCKS = 12
PYTHON_LANGUAGES = ["python", "py", "python3"]  # the fence names Material renders as Python
PYTHON_BLOCK = re.compile(rf'<div class="language-(?:{"|".join(PYTHON_LANGUAGES)}) highlight">')


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


@pytest.mark.parametrize("page", MARKDOWN_PAGES, ids=page_id)
def test_no_paragraph_swallows_a_code_block(site, page):
    """Text right under a fence's closing line, with no blank line, becomes a paragraph wrapped around the block:
    invalid HTML that browsers split, leaving its links outside any paragraph (unstyled, an axe violation)."""
    swallowed = re.findall(r"<p[^>]*>\s*<div[^>]*>.*?</pre></div>\s*([^<\n]{0,60})", rendered(site, page), re.S)
    assert not swallowed, f"{page.relative_to(ROOT)}: add a blank line after the fence closing before: {swallowed}"


PUBLISHED = read_record()


@pytest.mark.parametrize("url", sorted(PUBLISHED), ids=lambda url: url or "home")
def test_published_anchors_still_land(site, url):
    """A link a reader saved to a section still lands after the section moved: the page keeps the id, on the
    heading or on a link to the section's new place (project/published_anchors.py records them)."""
    page = site / url / "index.html"
    assert page.exists(), f"/{url} is gone: keep a page there that links to where its content moved"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for anchor in PUBLISHED[url]:
        element = soup.find(id=anchor)
        assert element is not None, f"/{url}#{anchor} no longer lands: keep the id (a link to where it moved)"
        if element.name in HEADINGS:
            continue
        link = element if element.name == "a" else element.find("a")
        assert link is not None and link.get("href"), f"/{url}#{anchor} is neither a heading nor a link"
        target, _, fragment = urljoin(f"/{url}", link["href"]).partition("#")
        moved = site / target.lstrip("/") / "index.html"
        assert moved.exists(), f"/{url}#{anchor} links to {link['href']}, which is not a page of the site"
        assert not fragment or BeautifulSoup(moved.read_text(encoding="utf-8"), "html.parser").find(id=fragment), (
            f"/{url}#{anchor} links to {link['href']}, whose section is not there")


def visible_code_blocks(html: str) -> int:
    """Python blocks a reader scrolls past: one per set of tabs (one tab shows), none in a closed <details>."""
    article = BeautifulSoup(html, "html.parser").find("article")
    blocks = article.select(", ".join(f"div.language-{language}" for language in PYTHON_LANGUAGES))

    def shown(block) -> bool:
        details, tab = block.find_parent("details"), block.find_parent("div", class_="tabbed-block")
        closed = details is not None and not details.has_attr("open")
        later_tab = tab is not None and tab.find_previous_sibling("div", class_="tabbed-block") is not None
        return not (closed or later_tab)

    return sum(shown(block) for block in blocks)


@pytest.mark.parametrize("page", MARKDOWN_PAGES, ids=page_id)
def test_a_phone_can_finish_the_page(site, page):
    """No page shows more than a dozen code blocks (issue 21): a page with more holds several topics; split it."""
    count = visible_code_blocks(rendered(site, page))
    assert count <= MOST_CODE_BLOCKS, f"{page_id(page)} shows {count} code blocks: at most {MOST_CODE_BLOCKS}, split it"
