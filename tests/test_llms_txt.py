"""The site for AI tools: /llms.txt lists every page with its description, and each page's Markdown (its own
file and /llms-full.txt) holds its code as rendered, its Output blocks and its math as TeX (hooks/llms_txt.py).

They read the built site (the `site` fixture), so conftest.py marks them slow.
"""

import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
from bs4 import BeautifulSoup

from page_doctest import DOCTEST, OUTPUT_INFO, fences, python_fences
from project import MARKDOWN_PAGES, NOTEBOOKS, PAGES, load_hook, page_id, read_config, url_path

LISTED = re.compile(r"^- \[(?P<title>[^\]]+)\]\((?P<url>[^)\s]+)\)(?:: (?P<description>.*))?$")
CODE_BLOCK = re.compile(r"^(`{3,}|~{3,}).*?^\1", re.DOTALL | re.MULTILINE)
KATEX_MARKUP = re.compile(r"katex|LLMSTEX|\\\(|\\\[")  # KaTeX's classes, a placeholder left, arithmatex's delimiters


def test_a_formula_placeholder_becomes_its_tex_again():
    """What the HTML-to-Markdown conversion carries for each formula; a display one keeps its list indentation."""
    hook = load_hook("llms_txt")
    inline, display = hook.encode(r" \hat{x}_i^* ", False), hook.encode("a \\\\\n  b", True)
    assert hook.decode(f"See {inline}.\n\n   {display}\n") == "See $\\hat{x}_i^*$.\n\n   $$\n   a \\\\\n     b\n   $$\n"


def html(site: Path, page: Path) -> BeautifulSoup:
    return BeautifulSoup((site / url_path(page) / "index.html").read_text(encoding="utf-8"), "html.parser")


def markdown(site: Path, page: Path) -> str:
    return (site / url_path(page) / "index.md").read_text(encoding="utf-8")


def listed(site: Path) -> dict[str, str]:
    """llms.txt's entries: the path of each linked Markdown file -> its description."""
    lines = (site / "llms.txt").read_text(encoding="utf-8").splitlines()
    return {urlparse(m["url"]).path: m["description"] or "" for m in map(LISTED.match, lines) if m}


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_page_is_listed_in_llms_txt_with_its_description(site, page):
    meta = html(site, page).find("meta", attrs={"name": "description"})
    entries, path = listed(site), f"/{url_path(page)}index.md"
    assert path in entries, f"llms.txt does not link {page.name}'s Markdown ({path}); it links {sorted(entries)}"
    assert entries[path] == " ".join(meta["content"].split()), f"llms.txt gives {page.name} another description"
    assert (site / path.lstrip("/")).is_file(), f"llms.txt links {path}, which the build did not write"


def test_llms_txt_has_the_nav_sections_in_order(site):
    sections = [line[3:] for line in (site / "llms.txt").read_text(encoding="utf-8").splitlines() if line[:3] == "## "]
    assert sections == [next(iter(entry)) for entry in read_config()["nav"]]


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_llms_full_txt_holds_each_page_markdown(site, page):
    assert markdown(site, page).strip() in (site / "llms-full.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("page", MARKDOWN_PAGES, ids=page_id)
def test_every_python_fence_appears_as_rendered(site, page, pytestconfig):
    """Each fence's code, its `--8<--` lines expanded by the doc-test's pymdownx.snippets (mkdocs.yml's options)."""
    expand = pytestconfig.stash[DOCTEST].snippet_preprocessor().run
    text, found = markdown(site, page), python_fences(page.read_text(encoding="utf-8"))
    without_code = {"notation.md", "references.md", "short-answers/index.md"}
    assert found or page_id(page) in without_code, f"no Python fence found on {page_id(page)}"
    for fence in found:
        code = "\n".join(expand(fence.content.rstrip("\n").split("\n"))).strip("\n")
        shown = re.search(rf"^```\w*\n{re.escape(code)}\n```$", text, re.MULTILINE)
        assert shown, f"{page.name}:{fence.map[0] + 1}: the fence's code is not in the page's Markdown"


@pytest.mark.parametrize("page", MARKDOWN_PAGES, ids=page_id)
def test_every_output_block_appears(site, page):
    text = markdown(site, page)
    for block in fences(page.read_text(encoding="utf-8")):
        if OUTPUT_INFO.match(block.info.strip()):
            shown = block.content.strip("\n")
            assert f"```text\n{shown}\n```" in text, f"{page.name}:{block.map[0] + 1}: Output block missing"


@pytest.mark.parametrize("page", NOTEBOOKS, ids=page_id)
def test_every_notebook_cell_appears(site, page):
    text = markdown(site, page)
    for cell in nbformat.read(page, as_version=4).cells:
        assert cell.cell_type != "code" or f"```python\n{cell.source.strip()}\n```" in text, cell.source[:80]


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_formula_comes_out_as_tex(site, page):
    """Each formula KaTeX typeset on the page (its TeX annotation) is in the Markdown between $ or $$, as often."""
    text = " ".join(CODE_BLOCK.sub("", markdown(site, page)).split())  # prose: code may hold \( or "katex"
    formulas = Counter(" ".join(tex.get_text().split())
                       for tex in html(site, page).select('annotation[encoding="application/x-tex"]'))
    for tex, count in formulas.items():
        found = len(re.findall(rf"(?<!\$)\$\$? ?{re.escape(tex)} ?\$", text))
        assert found >= count, f"{page.name}: ${tex}$ is typeset {count} times, in the Markdown as TeX {found}"
    leak = KATEX_MARKUP.search(text)
    assert not leak, f"{page.name}: KaTeX markup in the Markdown: {text[max(0, leak.start() - 60):leak.end() + 60]!r}"
