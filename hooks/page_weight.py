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
from pathlib import Path

from html_reading import CLASS, NO_ROOM, SCREEN_CHARACTERS, TAG, VOID_TAGS, element_end, text_length

# Pygments writes flat spans, one per token: `<span class="n">torch</span>`.
TOKEN_SPAN = re.compile(r'<span class="([\w-]+)">([^<]*)</span>')
CODE_BLOCK = re.compile(r"<pre\b[^>]*>.*?</pre>", re.DOTALL)
# An Output block under a code block, and a cell's output on the notebook page.
OUTPUT_BLOCK = re.compile(
    r'<div class="[^"]*\bhighlight\b[^"]*"(?=><span class="filename">Output</span>)'
    r'|<div class="[^"]*\bjp-OutputArea-output\b[^"]*"'
)
ERROR_LINE = re.compile(r"\b[A-Z]\w*(?:Error|Exception)\b:")  # ValueError: ..., ModifyScopeVariableError: ...
RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
# Material colours names with this variable, which it sets to the colour of all code.
NAME_COLOUR = "color:var(--md-code-hl-name-color)"
PLAIN_NAME = "var(--md-code-fg-color)"
LAZY = "data-lazy-layout"
# Blocks whose layout containment changes nothing on screen: a paragraph holds only inline content, and
# display math and tables already scroll (they clip, and no margin collapses through them).
LAZY_BLOCKS = {("p", ""), ("div", "arithmatex"), ("div", "md-typeset__scrollwrap")}

_styled = None


def styled_tokens(stylesheets):
    """Token classes that look different from the code around them, read from the site's stylesheets."""
    css = "".join(stylesheets)
    names_are_plain = set(re.findall(r"--md-code-hl-name-color:([^;}]*)", css)) <= {PLAIN_NAME}
    styled = set()
    for selectors, body in RULE.findall(css):
        if ".highlight ." not in selectors or (names_are_plain and body.strip().rstrip(";") == NAME_COLOUR):
            continue
        styled.update(re.findall(r"\.highlight \.([\w-]+)", selectors))
    return styled


def plain_code(html, styled):
    def unwrap(match):
        return match[0] if match[1] in styled else match[2]

    return CODE_BLOCK.sub(lambda block: TOKEN_SPAN.sub(unwrap, block[0]), html)


def top_level_blocks(html):
    """(index, whether LAZY_BLOCKS holds it, characters of text before) of each of the article's top-level
    elements, and the article's characters of text, not counting spaces, scripts, styles and MathML."""
    start, end = html.find("<article"), html.rfind("</article>")
    if start < 0 or end < 0:
        return [], 0
    start = html.index(">", start) + 1
    # Blanked, not cut out, so that indices stay those of `html`.
    article = NO_ROOM.sub(lambda match: " " * len(match[0]), html[start:end])
    blocks, depth, characters, text_from = [], 0, 0, 0
    for tag in TAG.finditer(article):
        characters += text_length(article[text_from : tag.start()])
        text_from = tag.end()
        closing, name, attributes = tag.groups()
        if closing:
            depth -= 1
            continue
        if depth == 0:
            classes = CLASS.search(attributes)
            first_class = classes[1].split()[0] if classes and classes[1].split() else ""
            blocks.append((start + tag.start(), (name, first_class) in LAZY_BLOCKS, characters))
        if name not in VOID_TAGS and not attributes.rstrip().endswith("/"):
            depth += 1
    characters += text_length(article[text_from:])
    return blocks, characters


def mark_lazy_blocks(html):
    """`html` with LAZY on the article's LAZY_BLOCKS that have a screenful of text before and after them."""
    blocks, total = top_level_blocks(html)
    befores = [before for _, _, before in blocks]
    lazy = [
        index
        for (index, lazy_able, before), next_before in zip(blocks, [*befores[1:], total], strict=True)
        if lazy_able and before >= SCREEN_CHARACTERS and total - next_before >= SCREEN_CHARACTERS
    ]
    for index in reversed(lazy):
        name_end = TAG.match(html, index).start(3)
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


def output_blocks(html):
    """The Output blocks of a page, and the notebook's outputs, each from its start tag to its end tag."""
    return [html[block.start() : element_end(html, block.start())] for block in OUTPUT_BLOCK.finditer(html)]


def shows_an_error(block):
    """An Output block that shows an exception's message, which a reader pastes into search."""
    return ERROR_LINE.search(TAG.sub("", block)) is not None


def on_page_content(html, page, config, files):
    # Material's search plugin skips elements with data-search-exclude, then removes the attribute.
    def exclude(match):
        block = html[match.start() : element_end(html, match.start())]
        return match[0] if shows_an_error(block) else f'{match[0]} data-search-exclude="output"'

    return OUTPUT_BLOCK.sub(exclude, html)


def on_post_page(output, page, config):
    return mark_lazy_blocks(plain_code(output, _styled))
