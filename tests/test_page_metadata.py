"""What a reader sees of each page's metadata on the built site: its own description, and no front matter as text."""

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Comment, NavigableString

from project import PAGES, page_id, read_config, url_path

SITE_DESCRIPTION = read_config()["site_description"]
# Front matter rendered as Markdown shows up as text like "description: ...".
METADATA_TEXT = "description:"


def html(site: Path, page: Path) -> BeautifulSoup:
    return BeautifulSoup((site / url_path(page) / "index.html").read_text(encoding="utf-8"), "html.parser")


def description(site: Path, page: Path) -> str:
    meta = html(site, page).find("meta", attrs={"name": "description"})
    return meta["content"].strip() if meta else ""


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_page_has_its_own_description(site, page):
    found = description(site, page)
    assert found, f"docs/{page_id(page)} has no description: add `description:` to its front matter"
    assert found != SITE_DESCRIPTION, f"docs/{page_id(page)} shows the site's description: give it its own"


def test_no_two_pages_share_a_description(site):
    owners = {}
    for page in PAGES:
        owners.setdefault(description(site, page), []).append(page.name)
    shared = {text: names for text, names in owners.items() if len(names) > 1}
    assert not shared, f"pages sharing a description: {shared}"


def text_before(article, heading) -> str:
    """The words a reader sees in the article above `heading` (comments, scripts and styles are not seen)."""
    words = []
    for node in article.descendants:
        if node is heading:
            return " ".join(words)
        if isinstance(node, NavigableString) and not isinstance(node, Comment) and node.strip():
            if not node.find_parent(["script", "style"]):
                words.append(node.strip())
    raise AssertionError("the heading is not inside the article")


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_article_starts_with_its_h1(site, page):
    article = html(site, page).find("article")
    headings = article.find_all(["h1", "h2", "h3", "h4", "h5", "h6"])
    assert headings and headings[0].name == "h1", f"the first heading of {page.name} is not an h1: {headings[:1]}"
    assert len(article.find_all("h1")) == 1, f"{page.name} has more than one h1"
    before = text_before(article, headings[0])
    assert not before, f"{page.name} shows text above its h1: {before[:80]!r}"
    assert not headings[0].find_all_previous("hr"), f"{page.name} shows a rule above its h1"
    levels = [int(heading.name[1]) for heading in headings]
    skips = [(a, b) for a, b in zip(levels, levels[1:], strict=False) if b > a + 1]
    assert not skips, f"{page_id(page)} skips heading levels (screen readers' outline, Lighthouse): {skips}"


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_no_metadata_text_in_page_or_toc(site, page):
    soup = html(site, page)
    assert METADATA_TEXT not in soup.find("article").get_text(" "), f"front matter shown as text on {page.name}"
    toc = soup.select_one("nav.md-nav--secondary")
    assert toc is None or METADATA_TEXT not in toc.get_text(" "), f"front matter in the contents of {page.name}"


def test_no_metadata_text_in_search_index(site):
    entries = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    assert len({entry["location"].split("#")[0] for entry in entries}) == len(PAGES), "a page is missing from search"
    found = [entry["location"] for entry in entries if METADATA_TEXT in entry["title"] + entry["text"]]
    assert not found, f"front matter indexed as text at {found}"
