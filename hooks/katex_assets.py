"""Serve only the part of KaTeX's stylesheet and fonts that the built pages use.

Runs after hooks/katex.py has typeset a page. Each typeset formula tells which of KaTeX's selectors select
something and which characters are drawn in which KaTeX font: KaTeX's own stylesheet decides that, read by
tinycss2 and matched by cssselect2, and this module applies the cascade and inheritance as the browser
does. After the build, every font in use is cut down to the characters drawn in it (fontTools, woff2 with
Brotli), selectors that select nothing on any page are dropped, and both are written to
`assets/katex/<hash>/`, named by their content, so that no browser pairs a page with a font cut for
another version of the site. A page preloads only the fonts of the formulas on its first screen.
"""

import hashlib
import io
import re
import shutil
import unicodedata
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

import cssselect2
import tinycss2
from fontTools import subset
from fontTools.ttLib import TTFont
from html_reading import NO_ROOM, SCREEN_CHARACTERS, TAG, VOID_TAGS, element_end, text_length
from mkdocs.utils import get_relative_url

KATEX = Path(__file__).parent.parent / "vendor" / "katex"
SERVED_AT = "assets/katex"  # pages link here while building; the hash folder is filled in after the build
STYLESHEET = "katex.min.css"
# FreeType's autohinter (Linux, Android) sets its alignment zones from these characters, when a font has
# them: a subset without them renders every glyph a subpixel differently.
AUTOHINTER_REFERENCE = "THEZOCQSHEZLOCUSfijkdbhuvxzoescnrpqgjyoO0" "ΓΒΕΖΘΟΩΔΞβθδζλξαειοπστωγημρφχψ"
# KaTeX's markup is regular: double-quoted attributes, no "<" in text.
MARKUP_TOKEN = re.compile(rf"{TAG.pattern}|([^<]+)")
ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')
FORMULA_ROOT = re.compile(r'<span class="katex(?:-display)?">')
FONT_PROPERTIES = ("font-family", "font-style", "font-weight")
PRELOAD = '<link rel="preload" href="{href}" as="font" type="font/woff2" crossorigin>'
# A link into SERVED_AT that no earlier build (`mkdocs serve` rebuilds only changed pages) has pointed to a hash yet.
LINK_TO_ASSETS = re.compile(rf'(href="[^"]*?){re.escape(SERVED_AT)}/(?![0-9a-f]{{10}}/)')


# ---- KaTeX's stylesheet, read by tinycss2 and matched by cssselect2 ----


@dataclass(frozen=True)
class Rule:
    selectors: tuple  # the text of each selector of the rule, as KaTeX wrote it
    body: str
    font: dict  # the font properties (and generated text) it sets


@dataclass(frozen=True)
class Face:
    family: str
    weight: int
    style: str
    file: str  # woff2 file name in vendor/katex/fonts


@dataclass
class Stylesheet:
    rules: list
    faces: list
    matcher: cssselect2.Matcher = field(repr=False)  # payload: (rule index, selector index)

    @classmethod
    def parse(cls, css):
        rules, faces, matcher = [], [], cssselect2.Matcher()
        for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
            if rule.type == "at-rule" and rule.lower_at_keyword == "font-face":
                declarations = declarations_of(rule.content)
                faces.append(Face(
                    family=first_family(declarations["font-family"]),
                    weight=weight(tinycss2.serialize(declarations.get("font-weight", "400")).strip()),
                    style=tinycss2.serialize(declarations.get("font-style", "normal")).strip(),
                    file=next(
                        token.value.removeprefix("fonts/") for token in declarations["src"]
                        if token.type == "url" and token.value.endswith(".woff2")
                    ),
                ))
            elif rule.type == "qualified-rule":
                texts = selector_texts(rule.prelude)
                for index, selector in enumerate(cssselect2.compile_selector_list(rule.prelude)):
                    matcher.add_selector(selector, (len(rules), index))
                font = font_declarations(declarations_of(rule.content))
                rules.append(Rule(tuple(texts), tinycss2.serialize(rule.content), font))
            else:
                what = tinycss2.serialize([rule])[:80]
                raise ValueError(f"KaTeX's stylesheet has a rule this hook cannot read: {what!r}")
        return cls(rules, faces, matcher)

    def face(self, family, style, font_weight):
        """CSS font matching, as far as KaTeX's faces need it: style first, then the nearest weight."""
        candidates = [face for face in self.faces if face.family == family]
        if not candidates:
            return None
        preference = ["italic", "oblique", "normal"] if style != "normal" else ["normal", "oblique", "italic"]
        best_style = min((face.style for face in candidates), key=preference.index)
        return min(
            (face for face in candidates if face.style == best_style),
            key=lambda face: abs(face.weight - font_weight),
        )

    def font(self, computed):
        """The face that draws text with these computed font properties."""
        return self.face(
            computed.get("font-family", ""), computed.get("font-style", "normal"),
            weight(computed.get("font-weight", "400")),
        )

    def purged(self, used_selectors, shipped_files):
        """The stylesheet with only the selectors that select something on a page, and only shipped fonts."""
        out = []
        for face in self.faces:
            if face.file in shipped_files:
                out.append(
                    f"@font-face{{font-display:block;font-family:{face.family};font-style:{face.style};"
                    f"font-weight:{face.weight};src:url(fonts/{face.file}) format(\"woff2\")}}"
                )
        for index, rule in enumerate(self.rules):
            kept = [text for number, text in enumerate(rule.selectors) if (index, number) in used_selectors]
            if kept:
                out.append(f"{','.join(kept)}{{{rule.body}}}")
        return "".join(out)


def declarations_of(content):
    """{property: value tokens} of a rule's body."""
    return {
        item.lower_name: item.value
        for item in tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True)
        if item.type == "declaration"
    }


def selector_texts(prelude):
    """The text of each selector in a rule's comma-separated list, in order."""
    selectors = [[]]
    for token in prelude:
        if token.type == "literal" and token.value == ",":
            selectors.append([])
        else:
            selectors[-1].append(token)
    return [tinycss2.serialize(tokens).strip() for tokens in selectors]


def first_family(tokens):
    """The first family of a font-family list: KaTeX's faces are its own, so never a fallback."""
    first = tinycss2.serialize(tokens).split(",")[0].strip()
    return first.strip("\"'")


def font_declarations(declarations):
    """The font properties and generated text that a rule sets, as strings."""
    found = {}
    if "font" in declarations:  # shorthand, as in `.katex{font:normal 1.21em KaTeX_Main,math,serif}`
        words, _, _ = tinycss2.serialize(declarations["font"]).strip().partition(",")
        *keywords, size, family = words.split()
        found["font-family"] = family.strip("\"'")
        found["font-style"] = "italic" if "italic" in keywords else "normal"
        found["font-weight"] = next((w for w in keywords if w in ("bold", "700")), "400")
    if "font-family" in declarations:
        found["font-family"] = first_family(declarations["font-family"])
    for prop in ("font-style", "font-weight", "content"):
        if prop in declarations:
            found[prop] = tinycss2.serialize(declarations[prop]).strip()
    return found


def weight(value):
    return {"normal": 400, "bold": 700}.get(value, None) or int(value)


def content_characters(value):
    """Characters that a `content:` value draws: its strings, and digits for a counter."""
    characters = "".join(re.findall(r'"([^"]*)"', value))
    return characters + ("0123456789" if "counter(" in value else "")


# ---- What a page draws ----


@dataclass
class Formula:
    offset: int  # characters of the page's text before it
    fonts: set = field(default_factory=set)


@dataclass
class PageUse:
    selectors: set = field(default_factory=set)  # (rule index, selector index) that select some element
    glyphs: dict = field(default_factory=dict)  # font file -> characters drawn in it
    formulas: list = field(default_factory=list)

    def first_screen_fonts(self):
        return sorted({font for f in self.formulas if f.offset < SCREEN_CHARACTERS for font in f.fonts})


def read_page(html, stylesheet):
    """The selectors that the page's formulas use, their glyphs, and where each formula starts in its text."""
    use = PageUse()
    article = html.find("<article")
    position, characters = max(article, 0), 0
    for root in FORMULA_ROOT.finditer(html, position):
        if root.start() < position:
            continue  # the .katex inside a .katex-display already read
        characters += text_length(TAG.sub(" ", NO_ROOM.sub(" ", html[position : root.start()])))
        end = element_end(html, root.start())
        formula = Formula(characters)
        use.formulas.append(formula)
        characters += read_formula(html[root.start() : end], stylesheet, use, formula)
        position = end
    return use


def element_tree(markup):
    """KaTeX's markup as an ElementTree (KaTeX writes regular HTML: double-quoted attributes, no "<" in text)."""
    root = ElementTree.Element("root")
    open_elements, last = [root], {}  # last: the element whose tail the next text is
    for token in MARKUP_TOKEN.finditer(markup):
        closing, name, attributes, text = token.groups()
        parent = open_elements[-1]
        if text is not None:
            previous = last.get(id(parent))
            if previous is None:
                parent.text = (parent.text or "") + unescape(text)
            else:
                previous.tail = (previous.tail or "") + unescape(text)
        elif closing:
            closed = open_elements.pop()
            last[id(open_elements[-1])] = closed
        else:
            element = ElementTree.SubElement(
                parent, name, {key: unescape(value) for key, value in ATTRIBUTE.findall(attributes)}
            )
            last[id(parent)] = element
            if name in VOID_TAGS or attributes.rstrip().endswith("/"):
                continue
            open_elements.append(element)
    return root[0]


def read_formula(markup, stylesheet, use, formula):
    """Adds one formula's selectors and glyphs to `use`; returns how many characters it draws."""
    computed, hidden, drawn = {}, set(), 0  # element -> its font properties; the MathML copy's elements
    for element in cssselect2.ElementWrapper.from_html_root(element_tree(markup)).iter_subtree():
        parent = element.parent.etree_element if element.parent else None
        own, generated = dict(computed.get(parent, {})), {}  # inherited, then set by the rules that apply
        for _, _, pseudo, (rule, selector) in stylesheet.matcher.match(element):  # lowest precedence first
            use.selectors.add((rule, selector))
            declared = stylesheet.rules[rule].font
            if pseudo:
                generated.setdefault(pseudo, {}).update(declared)
            else:
                own.update((prop, value) for prop, value in declared.items() if prop != "content")
        computed[element.etree_element] = own
        if parent in hidden or "katex-mathml" in element.classes:
            hidden.add(element.etree_element)  # KaTeX's MathML copy is for screen readers: never drawn
            continue
        for declared in generated.values():  # ::before and ::after inherit the element's font
            if "content" in declared:
                drawn += draw(content_characters(declared["content"]), {**own, **declared}, stylesheet, use, formula)
        # the text directly inside the element, and after each of its children, is drawn in its font
        texts = [element.etree_element.text, *(child.tail for child in element.etree_element)]
        drawn += draw("".join(text or "" for text in texts), own, stylesheet, use, formula)
    return drawn


def draw(text, font, stylesheet, use, formula):
    # Control and format characters (KaTeX's zero-width spaces) have no glyph; private-use ones do (\not).
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    face = stylesheet.font(font) if text else None
    if face is None:
        return 0
    use.glyphs.setdefault(face.file, set()).update(text)
    formula.fonts.add(face.file)
    return len(text)


# ---- Cutting the fonts ----


def subset_font(path, characters):
    """The font at `path` with only the glyphs for `characters`, as woff2 bytes (the same bytes every time)."""
    options = subset.Options()
    options.flavor = "woff2"
    font = TTFont(path, recalcTimestamp=False)
    covered = font.getBestCmap()
    # The space too: HarfBuzz draws KaTeX's zero-width spaces (in every .vlist-s) with the font's space glyph.
    kept = {ord(ch) for ch in characters} | {ord(ch) for ch in " " + AUTOHINTER_REFERENCE if ord(ch) in covered}
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(kept))
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


# ---- MkDocs events ----

_stylesheet = None
_pages = {}  # page URL -> PageUse; kept across `mkdocs serve` rebuilds, where only changed pages are rebuilt


def stylesheet():
    global _stylesheet
    if _stylesheet is None:
        _stylesheet = Stylesheet.parse((KATEX / STYLESHEET).read_text(encoding="utf-8"))
    return _stylesheet


def on_config(config):
    config.extra_css.insert(0, f"{SERVED_AT}/{STYLESHEET}")


def on_post_page(output, page, config):
    use = _pages[page.url] = read_page(output, stylesheet())
    preloads = "".join(
        PRELOAD.format(href=get_relative_url(f"{SERVED_AT}/fonts/{font}", page.url))
        for font in use.first_screen_fonts()
    )
    return output.replace("</head>", f"{preloads}</head>", 1)


def on_post_build(config):
    site = Path(config.site_dir)
    glyphs, selectors = {}, set()
    for use in _pages.values():
        selectors |= use.selectors
        for font, characters in use.glyphs.items():
            glyphs.setdefault(font, set()).update(characters)
    fonts = {font: subset_font(KATEX / "fonts" / font, characters) for font, characters in sorted(glyphs.items())}
    css = stylesheet().purged(selectors, set(fonts)).encode("utf-8")
    digest = hashlib.sha256(css + b"".join(fonts.values())).hexdigest()[:10]
    folder = site / SERVED_AT / digest
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "fonts").mkdir(parents=True)
    (folder / STYLESHEET).write_bytes(css)
    for font, data in fonts.items():
        (folder / "fonts" / font).write_bytes(data)
    for html_file in site.rglob("*.html"):  # every page links the stylesheet, math or not: instant navigation
        html = html_file.read_text(encoding="utf-8")
        linked = LINK_TO_ASSETS.sub(rf"\g<1>{SERVED_AT}/{digest}/", html)
        if linked != html:
            html_file.write_text(linked, encoding="utf-8")
