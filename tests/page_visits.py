"""Every page of the built site loaded in Chromium once per view, and all that the browser tests read of it.

Loading a page and laying it out is most of a browser test's cost, so one sweep gathers what each concern
needs (test_browser.py, test_katex_assets.py, test_page_weight.py) and the tests only read it. Two
browsers share the sweep, one per core.
"""

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from project import PAGES, page_id, url_path
from project.chromium import launch

# Lighthouse's phone, and a large desktop: the narrowest first screen and the one that holds the most text.
VIEWPORTS = {
    "phone": dict(viewport={"width": 412, "height": 823}, is_mobile=True, has_touch=True),
    "desktop": dict(viewport={"width": 1920, "height": 1080}),
}
# light and dark: the desktop in each palette; phone: the phone's first screen, in the light palette
VIEWS = {"light": ("desktop", "light"), "dark": ("desktop", "dark"), "phone": ("phone", "light")}
SCREENSHOT_WIDTHS = {"desktop": 1280, "phone": 390}  # every page is saved at both, in both palettes
WORKERS = 2
# Full-page checks need everything laid out, as a reader who scrolls through the page gets it.
RENDER_EVERYTHING = "* { content-visibility: visible !important; }"
# The dark palette changes colours, not the document: axe's colour rules are the ones it can fail.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
VISIBLE_TEXT = """() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll("pre, code, script, style, .katex, .md-search").forEach(node => node.remove());
    return body.textContent;
}"""
LAZY = """() => [...document.querySelectorAll("body *")]
    .filter(element => getComputedStyle(element).contentVisibility === "auto" && !element.closest(".katex"))
    .map(element => [element.tagName, element.getBoundingClientRect().top])"""
MARK_TEXT = """root => {
    let count = 0;
    for (const element of root.querySelectorAll(".katex-html, .katex-html *")) {
        if ([...element.childNodes].some(node => node.nodeType === Node.TEXT_NODE)) {
            element.setAttribute("data-font-check", count++);
        }
    }
    return count;
}"""
TEXTS = """elements => elements.map(element => [
    [...element.childNodes].filter(node => node.nodeType === Node.TEXT_NODE).map(node => node.data).join(""),
    element.closest(".katex-html").getBoundingClientRect().top])"""


@dataclass
class Visit:
    requests: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    # Read as loaded, in the light and phone views.
    height: int = 0  # of the screen
    lazy: list = field(default_factory=list)  # [tag, top] of each block laid out lazily, as loaded
    preloaded_fonts: set = field(default_factory=set)
    first_screen_fonts: set = field(default_factory=set)  # of the formulas that start on the first screen
    # The rest is read in the light and dark views only.
    typeset: int = 0
    formulas: int = 0
    katex_errors: int = 0
    visible_text: str = ""  # outside code and formulas
    violations: list = field(default_factory=list)  # axe's serious and critical ones
    links: set = field(default_factory=set)
    background: str = ""
    broken_images: list = field(default_factory=list)
    # Read in the light view only, with everything laid out.
    drawn: list = field(default_factory=list)  # Drawn, for each element of a formula that holds text
    formula_boxes: int = 0


@dataclass(frozen=True)
class Drawn:
    text: str
    fonts: tuple[tuple[str, bool], ...]  # (PostScript name, whether the page served it) of each font drawing it
    formula_top: float  # where its formula starts, from the top of the page

    def files(self) -> set[str]:
        return {f"{name}.woff2" for name, _ in self.fonts}


def visit_site(sync_api, site_url, artifacts) -> dict[tuple[Path, str], Visit]:
    """Every page in every view, keyed by (page file, view)."""
    jobs = [(page, view) for view in VIEWS for page in PAGES]
    share = functools.partial(visit_all, sync_api, site_url, artifacts)
    with ThreadPoolExecutor(WORKERS) as pool:
        shares = pool.map(share, [jobs[worker::WORKERS] for worker in range(WORKERS)])
        return {job: visit for results in shares for job, visit in results.items()}


def visit_all(sync_api, site_url, artifacts, jobs):
    from axe_playwright_python.sync_playwright import Axe

    axe, results = Axe(), {}
    with sync_api.sync_playwright() as playwright:  # one Playwright instance per thread
        browser = launch(playwright)
        for page_file, view in jobs:
            device, scheme = VIEWS[view]
            context = browser.new_context(**VIEWPORTS[device], color_scheme=scheme)
            page = context.new_page()
            visit = results[page_file, view] = Visit()
            # Default arguments bind this page's visit: a late event must not land on the next page's.
            page.on("request", lambda request, visit=visit: visit.requests.append(request.url))
            page.on("console", lambda note, visit=visit: note.type == "error" and visit.errors.append(note.text))
            page.on("pageerror", lambda error, visit=visit: visit.errors.append(str(error)))
            page.goto(site_url + url_path(page_file), wait_until="load")
            if view != "dark":  # the first screen is laid out alike in both palettes
                page.evaluate("document.fonts.ready")
                read_first_screen(page, visit)
            if view != "phone":
                page.wait_for_load_state("networkidle")  # every request the page makes, recorded
                # axe reads colours wrongly in content it has not laid out (a false contrast failure)
                render_everything(page)
                read_document(page, visit, axe, COLOUR_RULES if scheme == "dark" else None)
                if view == "light":
                    visit.drawn = drawn_fonts(page)
                    visit.formula_boxes = page.locator(".katex-html").count()
                for width_name, width in SCREENSHOT_WIDTHS.items():
                    page.set_viewport_size({"width": width, "height": 800})
                    name = page_id(page_file).rsplit(".", 1)[0].replace("/", "-")  # short-answers/index: not index
                    page.screenshot(path=artifacts / f"{name}-{width_name}-{scheme}.png", full_page=True)
            context.close()
        browser.close()
    return results


def read_first_screen(page, visit: Visit):
    """As loaded: what is laid out lazily, and which fonts the first screen's formulas need and get early."""
    visit.height = page.evaluate("innerHeight")
    visit.lazy = page.evaluate(LAZY)
    visit.preloaded_fonts = set(page.eval_on_selector_all(
        'link[rel="preload"][as="font"]', "links => links.map(link => link.href.split('/').pop())"
    ))
    visit.first_screen_fonts = fonts_of_formulas_within(page, screens=1)


def read_document(page, visit: Visit, axe, rules=None):
    visit.typeset = page.locator(".arithmatex > .katex, .arithmatex > .katex-display").count()
    visit.formulas = page.locator(".arithmatex").count()
    visit.katex_errors = page.locator(".katex-error").count()
    visit.visible_text = page.evaluate(VISIBLE_TEXT)
    options = {"resultTypes": ["violations"]}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    violations = axe.run(page, options=options).response["violations"]
    visit.violations = [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']][:3]}"
        for violation in violations
        if violation["impact"] in ("serious", "critical")
    ]
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(link => link.href)")
    visit.links = set(hrefs)
    visit.background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(image => image.loading = 'eager')")
    page.wait_for_function("[...document.images].every(image => image.complete)")
    visit.broken_images = page.eval_on_selector_all(
        "img", "images => images.filter(image => !image.naturalWidth).map(image => image.src)"
    )


def render_everything(page):
    page.add_style_tag(content=RENDER_EVERYTHING)
    page.evaluate("document.body.getBoundingClientRect()")  # lay out now, so that fonts start to load
    page.evaluate("document.fonts.ready")


def fonts_of_formulas_within(page, screens) -> set[str]:
    """Files of the fonts that draw the formulas starting within the top `screens` screens of the page."""
    page.evaluate(
        """screens => document.querySelectorAll(".katex-html").forEach(formula => {
            if (formula.getBoundingClientRect().top < screens * innerHeight) formula.classList.add("near-top") })""",
        screens,
    )
    fonts = {f"{name}.woff2" for _, drawn in platform_fonts(page, ".near-top, .near-top *") for name, _ in drawn}
    page.evaluate("document.querySelectorAll('.near-top').forEach(e => e.classList.remove('near-top'))")
    return fonts


def drawn_fonts(page, root="document.body") -> list[Drawn]:
    """What Chromium drew each element of a formula under `root` that holds text with."""
    marked = page.evaluate(f"() => ({MARK_TEXT})({root})")
    texts = page.eval_on_selector_all("[data-font-check]", TEXTS)
    assert len(texts) == marked
    fonts = platform_fonts(page, "[data-font-check]")
    page.evaluate("document.querySelectorAll('[data-font-check]').forEach(e => e.removeAttribute('data-font-check'))")
    return [Drawn(text, tuple(drawn), top) for (text, top), (_, drawn) in zip(texts, fonts, strict=True)]


def platform_fonts(page, selector) -> list[tuple[int, list[tuple[str, bool]]]]:
    """DevTools' CSS.getPlatformFontsForNode for each element matching `selector`, in document order."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    document = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    nodes = cdp.send("DOM.querySelectorAll", {"nodeId": document, "selector": selector})["nodeIds"]
    fonts = [
        (node, [(font["postScriptName"], font["isCustomFont"]) for font in
                cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]])
        for node in nodes
    ]
    cdp.detach()
    return fonts
