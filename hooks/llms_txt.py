"""The site for AI tools: /llms.txt, /llms-full.txt and a Markdown file beside each page (mkdocs-llmstxt).

The plugin converts each page's HTML to Markdown at `on_page_content`: the code as rendered (snippets
expanded) and the checked Output blocks are there, and the math is still arithmatex's TeX (hooks/katex.py
typesets it later, at `on_post_page`). This file plays three parts:

- hook, `on_config`: the plugin's `sections` are the nav's sections, each page with the description of its
  front matter (a notebook's: its metadata["mkdocs"]), so that no description is written twice;
- the plugin's `preprocess` (`autoclean: false`: it runs the plugin's cleaning itself, afterwards):
  content tabs keep their labels, figures their alt text, notebook code its language, and each formula
  becomes a placeholder of letters and digits, which the HTML-to-Markdown conversion (it doubles
  backslashes and escapes `*`) cannot alter;
- hook, `on_post_build`, after the plugin has written its files: each placeholder becomes `$tex$` or
  `$$tex$$` again.
"""

import json
import re
from collections import defaultdict
from pathlib import Path

from bs4 import NavigableString
from mkdocs.plugins import event_priority
from mkdocs.utils.meta import get_data
from mkdocs_llmstxt import autoclean

PLACEHOLDER = re.compile(r"LLMSTEX([ID])([0-9a-f]+)Z")
DISPLAY_ALONE = re.compile(r"^([ >]*)LLMSTEXD([0-9a-f]+)Z[ \t]*$", re.MULTILINE)
# A notebook's math is still $...$ text here; hooks/notebook.py wraps it for KaTeX only at on_post_page.
NOTEBOOK_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$([^$\n]+?)\$", re.DOTALL)


# --- hook: the sections and descriptions -----------------------------------------------------------------


def on_config(config):
    plugin = config.plugins.get("llmstxt")
    if plugin is None:
        return config
    docs = Path(config.docs_dir)
    plugin.config.sections = {
        title: [{name: description(docs / name)} for name in names] for title, names in nav_sections(config.nav)
    }
    return config


def nav_sections(nav) -> list[tuple[str, list[str]]]:
    """(section title, its files in order) for each top-level section; pages outside a section go in "Pages"."""
    sections, loose = [], []
    for entry in nav or []:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            sections.append((next(iter(entry)), files(value)))
        else:
            loose += files(value)
    return ([("Pages", loose)] if loose else []) + sections


def files(nav) -> list[str]:
    if isinstance(nav, str):
        return [] if "://" in nav else [nav]
    if isinstance(nav, dict):
        return [name for value in nav.values() for name in files(value)]
    return [name for entry in nav for name in files(entry)]


def description(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    if page.suffix == ".ipynb":
        meta = json.loads(text).get("metadata", {}).get("mkdocs", {})
    else:
        meta = get_data(text)[1]
    return " ".join(str(meta.get("description", "")).split())  # none: tests/test_page_metadata.py says so


# --- the plugin's preprocess: HTML that converts to faithful Markdown --------------------------------------


def preprocess(soup, output):
    for code in soup.find_all("code"):  # highlighted code as plain text: a tag a token is slow to convert
        if code.parent.name == "pre":
            code.string = code.get_text()
    tags = soup.find_all(True)  # one walk: CSS selectors (soupsieve) took seconds a build
    by_class = defaultdict(list)
    for tag in tags:
        for name in tag.get("class") or ():
            by_class[name].append(tag)
    for tabs in by_class["tabbed-set"]:  # autoclean drops the labels: say which block is which
        labels = tabs.find("div", class_="tabbed-labels", recursive=False).find_all("label", recursive=False)
        blocks = tabs.find("div", class_="tabbed-content", recursive=False).find_all("div", recursive=False)
        for label, block in zip(labels, blocks, strict=False):
            heading = soup.new_tag("p")
            heading.append(soup.new_tag("strong", string=label.get_text(" ", strip=True)))
            block.insert(0, heading)
    for image in (tag for tag in tags if tag.name == "img" and tag.get("alt")):  # autoclean drops images
        image.replace_with(f"(Figure: {image['alt']})")  # the alt text says what the figure shows
    for extra in by_class["zeroclipboard-container"] + by_class["clipboard-copy-txt"] + by_class["anchor-link"]:
        extra.decompose()  # a notebook's copy buttons, the text they copy, its permalinks
    for block in by_class["highlight-ipynb"]:  # a notebook's code cells
        block["class"] = [*block["class"], "language-python"]
    for output_area in by_class["jp-RenderedText"]:  # a notebook's printed output
        for block in output_area.find_all("pre"):
            block["class"] = ["language-text"]
    for formula in by_class["arithmatex"]:
        tex = formula.get_text().strip()
        display = tex.startswith("\\[")
        placeholder = encode(tex[2:-2], display)
        if display:  # a paragraph of its own
            paragraph = soup.new_tag("p")
            paragraph.string = placeholder
            formula.replace_with(paragraph)
        else:
            formula.replace_with(placeholder)
    if by_class["jp-Notebook"]:
        for text in soup.find_all(string=NOTEBOOK_MATH):
            if not text.find_parent(["pre", "code", "script", "style"]):
                text.replace_with(NavigableString(NOTEBOOK_MATH.sub(encode_match, text)))
    autoclean(soup)  # the plugin's own cleaning (permalinks, tab labels, images), deferred to here


def encode(tex: str, display: bool) -> str:
    return f"LLMSTEX{'D' if display else 'I'}{tex.strip().encode().hex()}Z"


def encode_match(match) -> str:
    return encode(match.group(1), True) if match.group(1) is not None else encode(match.group(2), False)


# --- hook: the TeX back in the written files -----------------------------------------------------------


def decode(markdown: str) -> str:
    def alone(match):  # $$ on lines of their own, kept inside the list item or quote the formula is in
        lead, tex = match.group(1), bytes.fromhex(match.group(2)).decode()
        return "\n".join(f"{lead}{line}".rstrip() for line in ["$$", *tex.split("\n"), "$$"])

    def inline(match):
        tex = bytes.fromhex(match.group(2)).decode()
        return f"$${' '.join(tex.split())}$$" if match.group(1) == "D" else f"${tex}$"

    return PLACEHOLDER.sub(inline, DISPLAY_ALONE.sub(alone, markdown))


@event_priority(-100)  # after the plugin's on_post_build, which writes the files
def on_post_build(config):
    site = Path(config.site_dir)
    for path in [*site.glob("llms*.txt"), *site.rglob("*.md")]:
        text = path.read_text(encoding="utf-8")
        if PLACEHOLDER.search(text):
            path.write_text(decode(text), encoding="utf-8")
