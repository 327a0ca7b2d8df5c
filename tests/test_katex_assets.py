"""KaTeX's fonts and stylesheet, cut to what the pages use: every glyph a formula needs is still there.

The fast tests check hooks/katex_assets.py's logic on small inputs. The browser tests ask Chromium which
font drew each character of each formula (DevTools' CSS.getPlatformFontsForNode): it must be a KaTeX font
the site serves, holding that character, never another font the browser fell back to.
"""

import hashlib
import io
import re
import unicodedata

import pytest
from fontTools.ttLib import TTFont

from page_visits import drawn_fonts
from project import PAGES, load_hook, page_id


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
.katex .katex-mathml{position:absolute}
"""


def test_selectors_match_as_in_css(hook):
    selectors = {
        ".katex .box>span": True, ".katex span": True, ".katex>span.y": False,  # .y is a grandchild
        ".katex .box.z span": False, ".katex .box:not(.z)>.y": True, ".katex .box:not(.x)>.y": False,
        ".katex .y:after": True,
    }
    sheet = hook.Stylesheet.parse("".join(f"{selector}{{color:red}}" for selector in selectors))
    formula = '<span class="katex"><span class="box x"><span class="y">t</span></span></span>'
    used = hook.read_page(f"<article>{formula}</article>", sheet).selectors
    assert {rule.selectors[0]: (index, 0) in used for index, rule in enumerate(sheet.rules)} == selectors


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
    css = hook.Stylesheet.parse(STYLESHEET).purged(use.selectors, set())
    assert ".katex .it{" in css and ".katex .tag:not(.plain):before{" in css and ".unused" not in css
    assert ".katex .katex-mathml{" in css, "the rule that hides the MathML copy is kept, though it is never drawn"


def test_first_screen_fonts_are_those_of_its_formulas(hook):
    early = '<span class="katex"><span class="katex-html"><span class="g">c</span></span></span>'
    late = '<span class="katex"><span class="katex-html"><span class="bf">f</span></span></span>'
    filler = "x" * hook.SCREEN_CHARACTERS
    use = hook.read_page(f"<article>{early}<p>{filler}</p>{late}</article>", hook.Stylesheet.parse(STYLESHEET))
    assert use.first_screen_fonts() == ["G-Regular.woff2"]


def test_purged_stylesheet_keeps_the_rules_and_faces_in_use(hook):
    sheet = hook.Stylesheet.parse(STYLESHEET)
    formula = '<span class="katex"><span class="it">a</span><span class="sized big">e</span></span>'
    used = hook.read_page(f"<article>{formula}</article>", sheet).selectors
    css = sheet.purged(used, {"F-Italic.woff2", "G-Regular.woff2"})
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


def test_served_katex_assets_are_named_by_their_content(site):
    folder = katex_folder(site)
    css = (folder / "katex.min.css").read_bytes()
    fonts = sorted((folder / "fonts").iterdir())
    assert folder.name == hashlib.sha256(css + b"".join(font.read_bytes() for font in fonts)).hexdigest()[:10]
    faces = re.findall(r"url\(fonts/([^)]+)\)", css.decode())
    assert sorted(faces) == [font.name for font in fonts], "every font served has a face, and every face a font"
    for html in site.rglob("*.html"):
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


def font_problems(drawn, glyphs) -> list[str]:
    """Formula text that Chromium drew with something other than a served KaTeX font holding it."""
    problems = []
    for element in drawn:
        names = [name for name, _ in element.fonts]
        foreign = [name for name, served in element.fonts if not served or name not in glyphs]
        covered = set().union(*(glyphs.get(name, set()) for name in names))
        text = element.text
        missing = [ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf") and ord(ch) not in covered]
        if not element.fonts or foreign or missing:
            problems.append(f"{text!r}: drawn with {names or 'nothing'}, glyphs missing for {missing}")
    return problems


@pytest.fixture(scope="module")
def glyphs(site):
    return served_glyphs(site)


@pytest.mark.parametrize("page_file", PAGES, ids=page_id)
def test_no_formula_falls_back_to_another_font(visits, glyphs, page_file):
    visit = visits[page_file, "light"]
    assert len(visit.drawn) >= visit.formula_boxes, "some formulas have no text to check: is it the right markup?"
    problems = font_problems(visit.drawn, glyphs)
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
    drawn = drawn_fonts(page, root="document.getElementById('canary')")
    page.close()
    problems = font_problems(drawn, glyphs)
    assert len(drawn) == 2
    assert len(problems) == 2 and repr(cut) in problems[0] and "'☃'" in problems[1], problems


@pytest.mark.parametrize("view", ["light", "phone"], ids=["desktop", "phone"])
@pytest.mark.parametrize("page_file", PAGES, ids=page_id)
def test_first_screen_fonts_are_preloaded_and_nothing_else(visits, page_file, view):
    visit = visits[page_file, view]
    missing = visit.first_screen_fonts - visit.preloaded_fonts
    assert not missing, f"the first screen draws {missing}, not preloaded"
    if view == "light":  # the desktop's screen holds the most text
        near_top = set().union(*(drawn.files() for drawn in visit.drawn if drawn.formula_top < 2 * visit.height))
        extra = visit.preloaded_fonts - near_top
        assert not extra, f"{extra} preloaded, not drawn near the top"
