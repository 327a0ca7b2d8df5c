"""KaTeX's fonts and stylesheet, cut to what the pages use: every glyph a formula needs is still there.

The fast tests check hooks/katex_assets.py's logic on small inputs. The browser tests ask Chromium which
font drew each character of each formula (DevTools' CSS.getPlatformFontsForNode): it must be a KaTeX font
the site serves, holding that character, never another font the browser fell back to.
"""

import hashlib
import io
import re
import unicodedata
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from pages import load_hook, url_path

ROOT = Path(__file__).parent.parent
PAGES = sorted([*(ROOT / "docs").rglob("*.md"), *(ROOT / "docs").rglob("*.ipynb")])
# Lighthouse's phone, and a large desktop: the narrowest first screen and the one that holds the most text.
VIEWPORTS = {
    "phone": dict(viewport={"width": 412, "height": 823}, is_mobile=True, has_touch=True),
    "desktop": dict(viewport={"width": 1920, "height": 1080}),
}
# Full-page checks need everything laid out, as a reader who scrolls through the page gets it.
RENDER_EVERYTHING = "* { content-visibility: visible !important; }"
MARK_TEXT = """root => {
    let count = 0;
    for (const element of root.querySelectorAll(".katex-html, .katex-html *")) {
        if ([...element.childNodes].some(node => node.nodeType === Node.TEXT_NODE)) {
            element.setAttribute("data-font-check", count++);
        }
    }
    return count;
}"""
TEXTS = """elements => elements.map(element =>
    [...element.childNodes].filter(node => node.nodeType === Node.TEXT_NODE).map(node => node.data).join(""))"""


def render_everything(page):
    page.add_style_tag(content=RENDER_EVERYTHING)
    page.evaluate("document.body.getBoundingClientRect()")  # lay out now, so that fonts start to load
    page.evaluate("document.fonts.ready")


@pytest.fixture(scope="module")
def hook():
    return load_hook("katex_assets")


# ---- The hook's logic, on small inputs ----

STYLESHEET = """\
@font-face{font-family:F;font-style:normal;font-weight:400;src:url(fonts/F-Regular.woff2) format("woff2")}
@font-face{font-family:F;font-style:italic;font-weight:400;src:url(fonts/F-Italic.woff2) format("woff2")}
@font-face{font-family:F;font-style:normal;font-weight:700;src:url(fonts/F-Bold.woff2) format("woff2")}
@font-face{font-family:G;font-style:normal;font-weight:400;src:url(fonts/G-Regular.woff2) format("woff2")}
.katex{font:normal 1.21em F,serif}
.katex .it{font-style:italic}
.katex .up{font-style:normal}
.katex .bf{font-weight:700}
.katex .g,.katex .sized.big{font-family:G}
.katex .box>span{font-family:G}
.katex .tag:not(.plain):before{content:"(" counter(n) ")"}
.katex .unused{color:red}
"""


def test_selectors_match_as_in_css(hook):
    chain = [("span", frozenset({"katex"})), ("span", frozenset({"box", "x"})), ("span", frozenset({"y"}))]
    assert hook.parse_selector(".katex .box>span").matches(chain)
    assert hook.parse_selector(".katex span").matches(chain)
    assert not hook.parse_selector(".katex>span.y").matches(chain)  # .y is a grandchild
    assert not hook.parse_selector(".katex .box.z span").matches(chain)
    assert hook.parse_selector(".katex .box:not(.z)>.y").matches(chain)
    assert not hook.parse_selector(".katex .box:not(.x)>.y").matches(chain)
    assert hook.parse_selector(".katex .y:after").pseudo == "after"


def test_each_character_gets_the_face_the_cascade_gives_it(hook):
    html = (
        '<article><p>Before it: </p><span class="katex"><span class="katex-mathml"><math><mi>z</mi></math></span>'
        '<span class="katex-html"><span class="it">a<span class="up">b</span></span><span class="g">c</span>'
        '<span class="sized">d</span><span class="sized big">e</span><span class="bf">f</span>'
        '<span class="bf it">g</span><span class="box"><span>h</span></span><span class="tag"></span>'
        "</span></span></article>"
    )
    use = hook.read_page(html, hook.Stylesheet.parse(STYLESHEET))
    assert use.glyphs == {
        "F-Italic.woff2": {"a", "g"},  # g: no bold italic face, and style is matched before weight
        "F-Regular.woff2": {"b", "d", *"()0123456789"},  # the generated "(1)" of .tag
        "G-Regular.woff2": {"c", "e", "h"},
        "F-Bold.woff2": {"f"},
    }, "the MathML copy (z) is never drawn"
    assert [formula.offset for formula in use.formulas] == [len("Beforeit:")], "text before, spaces not counted"
    assert {"katex", "it", "up", "tag"} <= use.classes


def test_first_screen_fonts_are_those_of_its_formulas(hook):
    early = '<span class="katex"><span class="katex-html"><span class="g">c</span></span></span>'
    late = '<span class="katex"><span class="katex-html"><span class="bf">f</span></span></span>'
    filler = "x" * hook.FIRST_SCREEN_CHARACTERS
    use = hook.read_page(f"<article>{early}<p>{filler}</p>{late}</article>", hook.Stylesheet.parse(STYLESHEET))
    assert use.first_screen_fonts() == ["G-Regular.woff2"]


def test_purged_stylesheet_keeps_the_rules_and_faces_in_use(hook):
    sheet = hook.Stylesheet.parse(STYLESHEET)
    css = sheet.purged({"katex", "it", "sized", "big"}, {"span"}, {"F-Italic.woff2", "G-Regular.woff2"})
    assert re.findall(r"url\(fonts/([^)]+)\)", css) == ["F-Italic.woff2", "G-Regular.woff2"]
    assert ".katex .it{" in css and ".katex .sized.big{" in css and ".katex .g" not in css
    assert ".bf" not in css and ".unused" not in css and ".tag" not in css


def test_katex_markup_is_read_as_katex_documents_its_fonts(hook):
    katex = load_hook("katex").katex()
    sheet = hook.stylesheet()
    inline = katex.call("katex.renderToString", r"x + \mathrm{d} \neq \sum y", {"throwOnError": True})
    display = katex.call("katex.renderToString", r"\sum y", {"displayMode": True, "throwOnError": True})
    glyphs = hook.read_page(f"<article>{inline}{display}</article>", sheet).glyphs
    assert glyphs["KaTeX_Math-Italic.woff2"] == {"x", "y"}
    assert {"+", "d", "=", "\ue020"} <= glyphs["KaTeX_Main-Regular.woff2"]  # \ne is "=" under a slash
    assert glyphs["KaTeX_Size1-Regular.woff2"] == {"∑"}, "inline sums use Size1"
    assert glyphs["KaTeX_Size2-Regular.woff2"] == {"∑"}, "display sums use Size2"


def test_subset_holds_the_characters_asked_for_and_is_reproducible(hook):
    full = hook.KATEX / "fonts" / "KaTeX_Main-Regular.woff2"
    cut = hook.subset_font(full, "ab\ue020")
    cmap = set(TTFont(io.BytesIO(cut)).getBestCmap())
    reference = {ord(ch) for ch in " " + hook.AUTOHINTER_REFERENCE} & set(TTFont(full).getBestCmap())
    assert cmap == {ord("a"), ord("b"), 0xE020} | reference
    assert cut == hook.subset_font(full, "ab\ue020"), "the same site must give the same bytes"
    assert len(cut) < full.stat().st_size / 2


# ---- The built site ----


def katex_folder(site):
    folders = list((site / "assets" / "katex").iterdir())
    assert len(folders) == 1, f"expected one folder of KaTeX assets, found {folders}"
    return folders[0]


def test_served_katex_assets_are_named_by_their_content(build):
    assert build.returncode == 0, "the site did not build; see test_build_is_strict_and_clean"
    folder = katex_folder(build.site)
    css = (folder / "katex.min.css").read_bytes()
    fonts = sorted((folder / "fonts").iterdir())
    assert folder.name == hashlib.sha256(css + b"".join(font.read_bytes() for font in fonts)).hexdigest()[:10]
    faces = re.findall(r"url\(fonts/([^)]+)\)", css.decode())
    assert sorted(faces) == [font.name for font in fonts], "every font served has a face, and every face a font"
    for html in build.site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        links = re.findall(r'href="([^"]*assets/katex/[^"]*)"', text)
        assert any(link.endswith(f"{folder.name}/katex.min.css") for link in links), f"{html} lacks the stylesheet"
        stale = [link for link in links if f"/{folder.name}/" not in link]
        assert not stale, f"{html} links KaTeX files outside {folder.name}: {stale}"
        preloaded = re.findall(r'<link rel="preload" href="[^"]*/fonts/([^"]+)" as="font"', text)
        assert set(preloaded) <= set(faces), f"{html} preloads fonts the stylesheet does not use"


# ---- In the browser ----


def served_glyphs(site):
    """Characters of each served font, by PostScript name (which is also its file name)."""
    return {font.stem: set(TTFont(font).getBestCmap()) for font in (katex_folder(site) / "fonts").iterdir()}


def font_problems(page, glyphs, root="document.body"):
    """What Chromium drew a formula character with, where that is not a served KaTeX font holding it."""
    marked = page.evaluate(f"() => ({MARK_TEXT})({root})")
    texts = page.eval_on_selector_all("[data-font-check]", TEXTS)
    assert len(texts) == marked
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    document = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    nodes = cdp.send("DOM.querySelectorAll", {"nodeId": document, "selector": "[data-font-check]"})["nodeIds"]
    problems = []
    for node, text in zip(nodes, texts, strict=True):
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        names = [font["postScriptName"] for font in fonts]
        foreign = [font for font in fonts if not font["isCustomFont"] or font["postScriptName"] not in glyphs]
        drawn = set().union(*(glyphs.get(name, set()) for name in names))
        missing = [ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf") and ord(ch) not in drawn]
        if not fonts or foreign or missing:
            problems.append(f"{text!r}: drawn with {names or 'nothing'}, glyphs missing for {missing}")
    cdp.detach()
    page.evaluate("document.querySelectorAll('[data-font-check]').forEach(e => e.removeAttribute('data-font-check'))")
    return marked, problems


@pytest.fixture(scope="module")
def glyphs(build):
    return served_glyphs(build.site)


@pytest.mark.parametrize("page_file", PAGES, ids=lambda page: page.name)
def test_no_formula_falls_back_to_another_font(browser, site_url, glyphs, page_file):
    page = browser.new_page()
    page.goto(site_url + url_path(page_file), wait_until="networkidle")
    render_everything(page)
    checked, problems = font_problems(page, glyphs)
    formulas = page.locator(".katex-html").count()
    page.close()
    assert checked >= formulas, "some formulas have no text to check: is the check looking at the right markup?"
    assert not problems, "\n".join(problems[:20])


def test_the_font_check_catches_a_cut_glyph_and_a_fallback(browser, site_url, glyphs, hook):
    full = set(TTFont(hook.KATEX / "fonts" / "KaTeX_Main-Regular.woff2").getBestCmap())
    cut = chr(min(full - glyphs["KaTeX_Main-Regular"]))  # in KaTeX's font, not in the site's subset
    page = browser.new_page()
    page.goto(site_url, wait_until="networkidle")
    page.evaluate(
        """characters => { const canary = document.createElement("span"); canary.id = "canary";
        canary.innerHTML = `<span class="katex"><span class="katex-html">` +
            characters.map(ch => `<span class="mord">${ch}</span>`).join("") + `</span></span>`;
        document.querySelector("article").prepend(canary) }""",
        [cut, "\u2603"],
    )
    page.evaluate("document.fonts.ready")
    checked, problems = font_problems(page, glyphs, root="document.getElementById('canary')")
    page.close()
    assert checked == 2
    assert len(problems) == 2 and repr(cut) in problems[0] and "'☃'" in problems[1], problems


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_first_screen_fonts_are_preloaded_and_nothing_else(browser, site_url, viewport):
    context = browser.new_context(**VIEWPORTS[viewport])
    for page_file in PAGES:
        page = context.new_page()
        page.goto(site_url + url_path(page_file), wait_until="load")
        page.evaluate("document.fonts.ready")
        preloaded = set(page.eval_on_selector_all(
            'link[rel="preload"][as="font"]', "links => links.map(link => link.href.split('/').pop())"
        ))
        on_screen = fonts_of_formulas_within(page, screens=1)
        assert on_screen <= preloaded, f"{page_file.name}: the first screen draws {on_screen - preloaded} unpreloaded"
        if viewport == "desktop":  # the screen that holds the most text
            render_everything(page)
            near = fonts_of_formulas_within(page, screens=2)
            assert preloaded <= near, f"{page_file.name}: {preloaded - near} preloaded, not drawn near the top"
        page.close()
    context.close()


def fonts_of_formulas_within(page, screens):
    """Files of the fonts that draw the formulas starting within the top `screens` screens of the page."""
    page.evaluate(
        """screens => document.querySelectorAll(".katex-html").forEach(formula => {
            if (formula.getBoundingClientRect().top < screens * innerHeight) formula.classList.add("near-top") })""",
        screens,
    )
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    document = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    nodes = cdp.send("DOM.querySelectorAll", {"nodeId": document, "selector": ".near-top, .near-top *"})["nodeIds"]
    fonts = {
        f"{font['postScriptName']}.woff2"
        for node in nodes
        for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    }
    cdp.detach()
    page.evaluate("document.querySelectorAll('.near-top').forEach(e => e.classList.remove('near-top'))")
    return fonts
