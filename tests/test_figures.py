"""The figures: drawn by their scripts at build time, the same bytes on every draw, described in words."""

import re
from pathlib import Path

import pytest

from project import MARKDOWN_PAGES, ROOT, load_hook

SCRIPTS = sorted((ROOT / "snippets").glob("figure_*.py"))
PAGES_TEXT = "\n".join(page.read_text(encoding="utf-8") for page in MARKDOWN_PAGES)


def name(script: Path) -> str:
    return script.stem.removeprefix("figure_")


def test_there_are_at_least_three_figures():
    assert len(SCRIPTS) >= 3


@pytest.mark.parametrize("script", SCRIPTS, ids=name)
def test_figure_is_shown_with_alt_text(script):
    alts = re.findall(rf"!\[([^\]]*)\]\(figures/{name(script)}\.svg\)", PAGES_TEXT)
    assert alts, f"no page shows figures/{name(script)}.svg"
    assert all(len(alt.split()) >= 12 for alt in alts), "alt text must say what the figure shows"


@pytest.mark.parametrize("script", SCRIPTS, ids=name)
def test_built_figure_is_deterministic_and_self_contained(site, script):
    svg = (site / "figures" / f"{name(script)}.svg").read_text(encoding="utf-8")
    assert load_hook("figures").svg(script) == svg, f"{script.name} draws a different SVG each time"
    assert "<svg" in svg and "viewBox" in svg
    links = set(re.findall(r'(?:href|src)="(?!#)([^"]+)"', svg))
    assert not links, f"the figure refers to other files or hosts: {links}"
