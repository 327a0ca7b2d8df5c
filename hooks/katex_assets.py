"""Serve only the part of KaTeX's stylesheet and fonts that the built pages use.

Runs after hooks/katex.py has typeset a page. Each typeset formula tells which KaTeX classes occur and
which characters are drawn in which KaTeX font: KaTeX's own stylesheet decides that, and this module
applies it as the browser does. After the build, every font in use is cut down to the characters drawn
in it (fontTools, woff2 with Brotli), rules for classes no page uses are dropped, and both are written to
`assets/katex/<hash>/`, named by their content, so that no browser pairs a page with a font cut for
another version of the site. A page preloads only the fonts of the formulas on its first screen.
"""

import functools
import hashlib
import io
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from mkdocs.utils import get_relative_url

KATEX = Path(__file__).parent.parent / "vendor" / "katex"
SERVED_AT = "assets/katex"  # pages link here while building; the hash folder is filled in after the build
STYLESHEET = "katex.min.css"
# Characters of text (spaces not counted) that fit on a first screen: up to about 900 on Lighthouse's phone
# (412 x 823 CSS pixels) and 1,550 on a 1920 x 1080 desktop; the browser tests check both.
FIRST_SCREEN_CHARACTERS = 2000
# FreeType's autohinter (Linux, Android) sets its alignment zones from these characters, when a font has
# them: a subset without them renders every glyph a subpixel differently.
AUTOHINTER_REFERENCE = "THEZOCQSHEZLOCUSfijkdbhuvxzoescnrpqgjyoO0" "ΓΒΕΖΘΟΩΔΞβθδζλξαειοπστωγημρφχψ"
# KaTeX's markup is regular: double-quoted attributes, no "<" in text.
MARKUP_TOKEN = re.compile(r'<(/?)([a-zA-Z][\w-]*)([^>]*?)(/?)>|([^<]+)')
FORMULA_ROOT = re.compile(r'<span class="katex(?:-display)?">')
MATHML = re.compile(r'<span class="katex-mathml">.*?</math></span>', re.DOTALL)
NOT_TEXT = re.compile(r"<(script|style)\b.*?</\1>|<span class=\"katex-mathml\">.*?</math></span>|<[^>]*>", re.DOTALL)
SPAN_TAG = re.compile(r"<span\b|</span>")
TAG_NAME = re.compile(r"<([a-zA-Z][\w-]*)")
CLASS = re.compile(r'\bclass="([^"]*)"')
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
PRELOAD = '<link rel="preload" href="{href}" as="font" type="font/woff2" crossorigin>'
# A link into SERVED_AT that no earlier build (`mkdocs serve` rebuilds only changed pages) has pointed to a hash yet.
LINK_TO_ASSETS = re.compile(rf'(href="[^"]*?){re.escape(SERVED_AT)}/(?![0-9a-f]{{10}}/)')


# ---- KaTeX's stylesheet: which rule applies to which element ----


@dataclass(frozen=True)
class Compound:
    """One step of a selector, e.g. `span.vlist:not(.x)::before`."""

    tag: str | None
    classes: frozenset
    not_classes: frozenset
    pseudo: str | None

    def matches(self, tag, classes):
        return (self.tag in (None, tag)) and self.classes <= classes and not (self.not_classes & classes)


@dataclass(frozen=True)
class Selector:
    text: str
    steps: tuple  # (combinator, Compound) from left to right; the first combinator is ""

    @property
    def specificity(self):
        compounds = [compound for _, compound in self.steps]
        classes = sum(len(c.classes) + len(c.not_classes) for c in compounds)
        return classes, sum(c.tag is not None for c in compounds) + sum(c.pseudo is not None for c in compounds)

    @property
    def pseudo(self):
        return self.steps[-1][1].pseudo

    def matches(self, chain):
        """Whether the last element of `chain`, a list of (tag, classes) from the root down, is selected."""
        return _match(self.steps, len(self.steps) - 1, chain, len(chain) - 1)


def _match(steps, step, chain, index):
    combinator, compound = steps[step]
    if index < 0 or not compound.matches(*chain[index]):
        return False
    if step == 0:
        return True
    if combinator == ">":
        return _match(steps, step - 1, chain, index - 1)
    return any(_match(steps, step - 1, chain, ancestor) for ancestor in range(index - 1, -1, -1))


COMPOUND = re.compile(
    r"(?P<tag>\*|[a-z][a-z0-9]*)?(?P<parts>(?:\.[\w-]+|:not\(\.[\w-]+\))*)(?P<pseudo>::?(?:before|after))?"
)


def parse_selector(text):
    steps, combinator = [], ""
    for token in re.split(r"\s*(>)\s*|\s+", text.strip()):
        if token in (None, ""):
            continue
        if token == ">":
            combinator = ">"
            continue
        match = COMPOUND.fullmatch(token)
        if not match:
            raise ValueError(f"KaTeX's stylesheet has a selector this hook cannot read: {text!r}")
        parts = match["parts"]
        compound = Compound(
            tag=None if match["tag"] in (None, "*") else match["tag"],
            classes=frozenset(re.findall(r"(?<!\()\.([\w-]+)", parts)),
            not_classes=frozenset(re.findall(r":not\(\.([\w-]+)\)", parts)),
            pseudo=(match["pseudo"] or "").lstrip(":") or None,
        )
        steps.append((combinator, compound))
        combinator = " "
    return Selector(text.strip(), tuple(steps))


@dataclass
class Rule:
    selectors: list
    body: str
    order: int

    def declarations(self):
        return dict(
            (name.strip(), value.strip())
            for name, _, value in (part.partition(":") for part in self.body.split(";"))
            if value
        )


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
    cache: dict = field(default_factory=dict, repr=False)  # (chain, pseudo) -> declared font properties

    @classmethod
    def parse(cls, css):
        rules, faces = [], []
        for order, (prelude, body) in enumerate(re.findall(r"([^{}]+)\{([^{}]*)\}", css)):
            prelude = prelude.strip()
            if prelude == "@font-face":
                declarations = Rule([], body, order).declarations()
                faces.append(Face(
                    family=declarations["font-family"].strip("\"'"),
                    weight=weight(declarations.get("font-weight", "400")),
                    style=declarations.get("font-style", "normal"),
                    file=re.search(r"url\(fonts/([^)]+\.woff2)\)", declarations["src"])[1],
                ))
            elif prelude.startswith("@"):
                raise ValueError(f"KaTeX's stylesheet has an at-rule this hook cannot read: {prelude!r}")
            else:
                rules.append(Rule([parse_selector(s) for s in prelude.split(",")], body, order))
        return cls(rules, faces)

    @functools.cached_property
    def font_rules(self):
        """(selector, rank, declarations) of the rules that set a font property or generated text."""
        return [
            (selector, (selector.specificity, rule.order), declared)
            for rule in self.rules
            if (declared := font_declarations(rule.declarations()))
            for selector in rule.selectors
        ]

    def font(self, chain):
        """The font face that draws the text directly inside the last element of `chain` (a tuple)."""
        found = {}
        for depth in range(len(chain), 0, -1):  # inheritance: the nearest element that sets a property wins
            for prop, value in self.declared(chain[:depth]).items():
                found.setdefault(prop, value)
        family = found.get("font-family", "").split(",")[0].strip().strip("\"'")
        return self.face(family, found.get("font-style", "normal"), weight(found.get("font-weight", "400")))

    def declared(self, chain, pseudo=None):
        """Font properties (and content) that the winning rules set on the last element of `chain`."""
        if (chain, pseudo) not in self.cache:
            self.cache[chain, pseudo] = self.winning(chain, pseudo)
        return self.cache[chain, pseudo]

    def winning(self, chain, pseudo):
        winners = {}
        for selector, rank, declarations in self.font_rules:
            if selector.pseudo == pseudo and selector.matches(chain):
                for prop, value in declarations.items():
                    if prop not in winners or winners[prop][0] <= rank:
                        winners[prop] = (rank, value)
        return {prop: value for prop, (_, value) in winners.items() if prop != "content" or pseudo}

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

    def purged(self, used_classes, used_tags, shipped_files):
        """The stylesheet without rules for classes or tags that no page has, and without unshipped fonts."""
        out = []
        for face in self.faces:
            if face.file in shipped_files:
                out.append(
                    f"@font-face{{font-display:block;font-family:{face.family};font-style:{face.style};"
                    f"font-weight:{face.weight};src:url(fonts/{face.file}) format(\"woff2\")}}"
                )
        for rule in self.rules:
            kept = [s.text for s in rule.selectors if applies(s, used_classes, used_tags)]
            if kept:
                out.append(f"{','.join(kept)}{{{rule.body}}}")
        return "".join(out)


def applies(selector, used_classes, used_tags):
    return all(
        compound.classes <= used_classes and compound.tag in (None, *used_tags) for _, compound in selector.steps
    )


def font_declarations(declarations):
    found = {}
    if "font" in declarations:  # shorthand, as in `.katex{font:normal 1.21em KaTeX_Main,math,serif}`
        words, _, families = declarations["font"].partition(",")
        *keywords, size, first_family = words.split()
        found["font-family"] = first_family
        found["font-style"] = "italic" if "italic" in keywords else "normal"
        found["font-weight"] = next((w for w in keywords if w in ("bold", "700")), "400")
    for prop in ("font-family", "font-style", "font-weight", "content"):
        if prop in declarations:
            found[prop] = declarations[prop]
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
    classes: set = field(default_factory=set)
    tags: set = field(default_factory=set)
    glyphs: dict = field(default_factory=dict)  # font file -> characters drawn in it
    formulas: list = field(default_factory=list)

    def first_screen_fonts(self):
        return sorted({font for f in self.formulas if f.offset < FIRST_SCREEN_CHARACTERS for font in f.fonts})


def read_page(html, stylesheet):
    """The classes, tags and glyphs of the page's formulas, and where each formula starts in its text."""
    use = PageUse()
    article = html.find("<article")
    position, characters = max(article, 0), 0
    for root in FORMULA_ROOT.finditer(html, position):
        if root.start() < position:
            continue  # the .katex inside a .katex-display already read
        characters += text_length(html[position : root.start()])
        end = element_end(html, root.start())
        formula = Formula(characters)
        use.formulas.append(formula)
        characters += read_formula(html[root.start() : end], stylesheet, use, formula)
        position = end
    return use


def read_formula(markup, stylesheet, use, formula):
    """Adds one formula's classes, tags and glyphs to `use`; returns how many characters it draws."""
    use.tags.update(TAG_NAME.findall(markup))
    use.classes.update(name for names in CLASS.findall(markup) for name in names.split())
    chain, drawn = [], 0
    # KaTeX's MathML copy is for screen readers: never drawn.
    for tag in MARKUP_TOKEN.finditer(MATHML.sub("", markup)):
        closing, name, attributes, self_closing, text = tag.groups()
        if text is not None:
            drawn += draw(unescape(text), tuple(chain), stylesheet, use, formula)
        elif closing:
            chain.pop()
        else:
            classes = CLASS.search(attributes)
            chain.append((name, frozenset(classes[1].split()) if classes else frozenset()))
            for pseudo in ("before", "after"):
                content = stylesheet.declared(tuple(chain), pseudo).get("content")
                if content:
                    drawn += draw(content_characters(content), tuple(chain), stylesheet, use, formula)
            if self_closing or name in VOID:
                chain.pop()
    return drawn


def draw(text, chain, stylesheet, use, formula):
    # Control and format characters (KaTeX's zero-width spaces) have no glyph; private-use ones do (\not).
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    face = stylesheet.font(chain) if text else None
    if face is None:
        return 0
    use.glyphs.setdefault(face.file, set()).update(text)
    formula.fonts.add(face.file)
    return len(text)


def element_end(html, start):
    """Where the span starting at `start` ends (KaTeX nests spans in spans)."""
    depth = 0
    for tag in SPAN_TAG.finditer(html, start):
        depth += -1 if tag[0] == "</span>" else 1
        if depth == 0:
            return tag.end()
    raise ValueError(f"unclosed KaTeX markup at character {start}")


def text_length(markup):
    """Characters of text in `markup`, not counting spaces, scripts, styles and MathML."""
    return sum(len(word) for word in NOT_TEXT.sub(" ", markup).split())


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
    glyphs, classes, tags = {}, set(), set()
    for use in _pages.values():
        classes |= use.classes
        tags |= use.tags
        for font, characters in use.glyphs.items():
            glyphs.setdefault(font, set()).update(characters)
    fonts = {font: subset_font(KATEX / "fonts" / font, characters) for font, characters in sorted(glyphs.items())}
    css = stylesheet().purged(classes, tags, set(fonts)).encode("utf-8")
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
