"""Lighter pages, with nothing different on screen or in what readers can find.

- Code blocks keep only the highlighting spans that paint something: a span whose token class Material's
  stylesheets leave at the code's own colour (names, whitespace, `True`/`None`) becomes plain text. On the
  longest page that is about 900 of 2,400 spans; the text, and so the copy button's text, is unchanged.
- Paragraphs, display math and tables below the first screen get `data-lazy-layout`, and
  docs/stylesheets/extra.css lets the browser skip laying them out until the reader scrolls near them.
  Blocks on the first screen are laid out at once, so nothing moves when they appear; so are those on the
  last screens, so that a link to any section can still scroll it to the top while the blocks below it
  have only estimated heights.
- Output blocks, and the notebook's outputs, stay out of the search index: they repeat numbers that the
  code above them produces.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

# Pygments writes flat spans, one per token: `<span class="n">torch</span>`.
TOKEN_SPAN = re.compile(r'<span class="([\w-]+)">([^<]*)</span>')
CODE_BLOCK = re.compile(r"<pre\b[^>]*>.*?</pre>", re.DOTALL)
# An Output block under a code block, and a cell's output on the notebook page.
OUTPUT_BLOCK = re.compile(
    r'<div class="[^"]*\bhighlight\b[^"]*"(?=><span class="filename">Output</span>)'
    r'|<div class="[^"]*\bjp-OutputArea-output\b[^"]*"'
)
TOKEN_RULE = re.compile(r"([^{}]*\.highlight \.[\w-]+[^{}]*)\{([^{}]*)\}")
# Material colours names with this variable, which it sets to the colour of all code.
NAME_COLOUR = "color:var(--md-code-hl-name-color)"
PLAIN_NAME = "var(--md-code-fg-color)"

# Characters of text on the tallest screen the tests check (a 1920 x 1080 desktop holds about 2,000).
SCREEN_CHARACTERS = 2500
LAZY = "data-lazy-layout"
# Blocks whose layout containment changes nothing on screen: a paragraph holds only inline content, and
# display math and tables already scroll (they clip, and no margin collapses through them).
LAZY_BLOCKS = {("p", ""), ("div", "arithmatex"), ("div", "md-typeset__scrollwrap")}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

_styled = None


def styled_tokens(stylesheets):
    """Token classes that look different from the code around them, read from the site's stylesheets."""
    css = "".join(stylesheets)
    names_are_plain = set(re.findall(r"--md-code-hl-name-color:([^;}]*)", css)) <= {PLAIN_NAME}
    styled = set()
    for selectors, body in TOKEN_RULE.findall(css):
        if names_are_plain and body.strip().rstrip(";") == NAME_COLOUR:
            continue
        styled.update(re.findall(r"\.highlight \.([\w-]+)", selectors))
    return styled


def plain_code(html, styled):
    def unwrap(match):
        return match[0] if match[1] in styled else match[2]

    return CODE_BLOCK.sub(lambda block: TOKEN_SPAN.sub(unwrap, block[0]), html)


class Blocks(HTMLParser):
    """The article's top-level blocks: where each starts, and how much text comes before it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.state = "before"  # before, in or after the article
        self.hidden = []  # for each element open inside the article: whether its text takes no room
        self.starts = []  # (line, column, characters of text before, lazy-able) of each top-level block
        self.characters = 0

    def handle_starttag(self, tag, attrs):
        if self.state == "before" and tag == "article":
            self.state = "in"
        elif self.state == "in":
            classes = (dict(attrs).get("class") or "").split()
            if not self.hidden:
                lazy_able = (tag, classes[0] if classes else "") in LAZY_BLOCKS
                self.starts.append((*self.getpos(), self.characters, lazy_able))
            # KaTeX's MathML copy is for screen readers and takes no room on screen.
            hidden = tag in ("script", "style") or "katex-mathml" in classes or (self.hidden and self.hidden[-1])
            if tag not in VOID:
                self.hidden.append(bool(hidden))

    def handle_startendtag(self, tag, attrs):
        if self.state == "in" and not self.hidden:
            self.starts.append((*self.getpos(), self.characters, False))

    def handle_endtag(self, tag):
        if self.state == "in":
            if self.hidden:
                self.hidden.pop()
            elif tag == "article":
                self.state = "after"

    def handle_data(self, data):
        if self.state == "in" and not (self.hidden and self.hidden[-1]):
            self.characters += len(data.strip())


def mark_lazy_blocks(html):
    """`html` with LAZY on the article's LAZY_BLOCKS that have a screenful of text before and after them."""
    blocks = Blocks()
    blocks.feed(html)
    blocks.close()
    line_starts = [0, *(match.end() for match in re.finditer("\n", html))]
    befores = [before for _, _, before, _ in blocks.starts]
    lazy = [
        line_starts[line - 1] + column
        for (line, column, before, lazy_able), next_before in zip(
            blocks.starts, [*befores[1:], blocks.characters], strict=True
        )
        if lazy_able and before >= SCREEN_CHARACTERS and blocks.characters - next_before >= SCREEN_CHARACTERS
    ]
    for index in reversed(lazy):
        name_end = re.compile(r"<[\w-]+").match(html, index).end()
        html = f"{html[:name_end]} {LAZY}{html[name_end:]}"
    return html


def theme_stylesheets(config):
    for folder in config.theme.dirs:
        yield from (path.read_text(encoding="utf-8") for path in sorted(Path(folder).glob("assets/stylesheets/*.css")))
    for css in config.extra_css:
        path = Path(config.docs_dir) / css
        if path.is_file():
            yield path.read_text(encoding="utf-8")


def on_config(config):
    global _styled
    _styled = styled_tokens(theme_stylesheets(config))
    if not _styled:
        raise ValueError("no code highlighting rules found in the theme's stylesheets: has Material changed?")


def on_page_content(html, page, config, files):
    # Material's search plugin skips elements with data-search-exclude, then removes the attribute.
    return OUTPUT_BLOCK.sub(lambda match: f'{match[0]} data-search-exclude="output"', html)


def on_post_page(output, page, config):
    return mark_lazy_blocks(plain_code(output, _styled))
