"""What the hooks that read built pages (katex_assets.py, page_weight.py) share: how they tell markup from
text, and how much text a first screen holds.

Hooks import it as `html_reading`: MkDocs puts a hook's own folder on `sys.path` while it loads the hook.
"""

import re

# Characters of text (spaces not counted) that more than fill a first screen: a 1920 x 1080 desktop holds up
# to about 1,550, Lighthouse's phone (412 x 823 CSS pixels) about 900; the browser tests check both.
SCREEN_CHARACTERS = 2000
# Elements that have no end tag in HTML.
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# A start or end tag, its name and its attributes (quoted values may hold ">").
TAG = re.compile(r'<(/?)([a-zA-Z][\w-]*)((?:[^>"\']|"[^"]*"|\'[^\']*\')*)>')
CLASS = re.compile(r'\bclass="([^"]*)"')
# KaTeX's MathML copy of a formula, for screen readers: never drawn.
MATHML = re.compile(r'<span class="katex-mathml">.*?</math></span>', re.DOTALL)
# What takes no room on screen: scripts, styles, comments and KaTeX's MathML copy.
NO_ROOM = re.compile(rf"<(script|style)\b.*?</\1>|<!--.*?-->|{MATHML.pattern}", re.DOTALL)


def text_length(text: str) -> int:
    """Characters of `text`, spaces not counted."""
    return sum(len(word) for word in text.split())


def element_end(html: str, start: int) -> int:
    """Where the element whose start tag is at `start` ends, nested elements of its name included."""
    name = TAG.match(html, start)[2]
    depth = 0
    for tag in re.compile(rf"<(/?){re.escape(name)}\b[^>]*>").finditer(html, start):
        depth += -1 if tag[1] else 1
        if depth == 0:
            return tag.end()
    raise ValueError(f"unclosed <{name}> at character {start}")
