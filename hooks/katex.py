"""Typeset every formula with KaTeX while the site builds.

Readers get finished math: no script to run, no request to another host. A TeX error fails the build.
hooks/katex_assets.py, listed after this hook, serves the part of KaTeX's stylesheet and fonts it needs.
"""

import atexit
import html
import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from py_mini_racer import JSEvalException, MiniRacer

KATEX = Path(__file__).parent.parent / "vendor" / "katex"
# What pymdownx.arithmatex (generic mode) writes: \( inline \) in a span, \[ display \] in a div.
FORMULA = re.compile(r'<(span|div) class="arithmatex">\\[(\[](.*?)\\[)\]]</\1>', re.DOTALL)

_engine = None


def katex():
    global _engine
    if _engine is None:  # loading KaTeX into V8 takes ~0.2 s: once per process, reused by `mkdocs serve`
        _engine = MiniRacer()
        atexit.register(_engine.close)  # without it, mini-racer 0.14.1 can hang the interpreter at exit
        _engine.eval((KATEX / "katex.min.js").read_text(encoding="utf-8"))
    return _engine


def on_page_content(content, page, config, files):
    for heading in flatten(page.toc):
        if "arithmatex" in heading.title or "\\(" in heading.title:
            raise PluginError(
                f"{page.file.src_uri}: the heading {heading.title!r} holds math, which the table of "
                "contents and search show as raw TeX; write it in words or Unicode"
            )
    return content  # still TeX: the search index stores the short source, not KaTeX's markup


def on_post_page(output, page, config):
    def typeset(match):
        tex = html.unescape(match.group(2)).strip()
        display = match.group(1) == "div"
        try:
            rendered = katex().call("katex.renderToString", tex, {"displayMode": display, "throwOnError": True})
        except JSEvalException as error:
            message = str(error).split("\n")[0].removeprefix("<anonymous>:1: ")
            raise PluginError(f"{page.file.src_uri}: KaTeX cannot typeset {tex!r}: {message}") from None
        if display:  # focusable, so that a formula wider than the screen can be scrolled by keyboard
            return f'<div class="arithmatex" tabindex="0">{rendered}</div>'
        return f'<span class="arithmatex">{rendered}</span>'

    return FORMULA.sub(typeset, output)


def flatten(toc):
    for heading in toc:
        yield heading
        yield from flatten(heading.children)
