"""What readers see, in a real browser: math typeset, nothing third-party, accessible, links that work."""

import functools
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag

import pytest

from chromium import launch
from pages import url_path

ROOT = Path(__file__).parent.parent
PAGES = sorted([*(ROOT / "docs").rglob("*.md"), *(ROOT / "docs").rglob("*.ipynb")])
SCHEMES = ["light", "dark"]
WORKERS = 2
SCREENSHOT_WIDTHS = {"desktop": 1280, "phone": 390}  # every page is saved at both, in both palettes
# A full-page screenshot shows what no screen holds at once: lay out all of it, as scrolling would.
RENDER_EVERYTHING = "* { content-visibility: visible !important; }"
RAW_TEX = re.compile(r"\$|\\\(|\\\[|\\[a-zA-Z]+\{|\\frac")
VISIBLE_TEXT = """() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll("pre, code, script, style, .katex, .md-search").forEach(node => node.remove());
    return body.textContent;
}"""


def markdown(page: Path) -> str:
    if page.suffix == ".ipynb":
        cells = json.loads(page.read_text(encoding="utf-8"))["cells"]
        return "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    return page.read_text(encoding="utf-8")


def formulas_in_source(page: Path) -> int:
    """Formulas the page's Markdown holds: $...$ and $$...$$ outside code."""
    text = re.sub(r"^( *)(```|~~~).*?^\1\2", "", markdown(page), flags=re.M | re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    display = re.findall(r"\$\$.*?\$\$", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    inline = r"(?<!\\)\$(?:[^$\n]|\n(?![ \t]*\n))+?\$"  # may wrap onto the next line, not past a paragraph
    return len(display) + len(re.findall(inline, text))


@dataclass
class Visit:
    requests: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    typeset: int = 0
    formulas: int = 0
    katex_errors: int = 0
    raw_tex: list = field(default_factory=list)
    violations: list = field(default_factory=list)
    links: set = field(default_factory=set)
    background: str = ""
    broken_images: list = field(default_factory=list)


@pytest.fixture(scope="module")
def visits(sync_api, site_url, artifacts):
    """Every page in both palettes, loaded once; each test below reads what its concern needs.

    axe takes over a second a page, so two browsers share the visits, one per core.
    """
    jobs = [(page, scheme) for scheme in SCHEMES for page in PAGES]
    visit_share = functools.partial(visit_all, sync_api, site_url, artifacts)
    with ThreadPoolExecutor(WORKERS) as pool:
        shares = pool.map(visit_share, [jobs[worker::WORKERS] for worker in range(WORKERS)])
        return {job: visit for share in shares for job, visit in share.items()}


def visit_all(sync_api, site_url, artifacts, jobs):
    from axe_playwright_python.sync_playwright import Axe

    axe, results = Axe(), {}
    with sync_api.sync_playwright() as playwright:  # one Playwright instance per thread
        browser = launch(playwright)
        for page_file, scheme in jobs:
            visit = results[page_file, scheme] = Visit()
            page = browser.new_page(color_scheme=scheme)
            # Default arguments bind this page's visit: a late event must not land on the next page's.
            page.on("request", lambda request, visit=visit: visit.requests.append(request.url))
            page.on("console", lambda note, visit=visit: note.type == "error" and visit.errors.append(note.text))
            page.on("pageerror", lambda error, visit=visit: visit.errors.append(str(error)))
            page.goto(site_url + url_path(page_file), wait_until="networkidle")
            visit.typeset = page.locator(".arithmatex > .katex, .arithmatex > .katex-display").count()
            visit.formulas = page.locator(".arithmatex").count()
            visit.katex_errors = page.locator(".katex-error").count()
            visit.raw_tex = RAW_TEX.findall(page.evaluate(VISIBLE_TEXT))
            violations = axe.run(page, options={"resultTypes": ["violations"]}).response["violations"]
            visit.violations = [
                f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']][:3]}"
                for violation in violations
                if violation["impact"] in ("serious", "critical")
            ]
            hrefs = page.eval_on_selector_all("a[href]", "links => links.map(link => link.href)")
            visit.links = {href for href in hrefs if href.startswith(site_url)}
            visit.background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(image => image.loading = 'eager')")
            page.wait_for_function("[...document.images].every(image => image.complete)")
            visit.broken_images = page.eval_on_selector_all(
                "img", "images => images.filter(image => !image.naturalWidth).map(image => image.src)"
            )
            page.add_style_tag(content=RENDER_EVERYTHING)
            for device, width in SCREENSHOT_WIDTHS.items():
                page.set_viewport_size({"width": width, "height": 800})
                page.screenshot(path=artifacts / f"{page_file.stem}-{device}-{scheme}.png", full_page=True)
            page.close()
        browser.close()
    return results


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_math_is_typeset(visits, page):
    visit = visits[page, "light"]
    assert visit.formulas == formulas_in_source(page), "the page holds a different number of formulas than its source"
    assert visit.typeset == visit.formulas, f"{visit.formulas - visit.typeset} formulas were not typeset"
    assert visit.katex_errors == 0
    assert not visit.raw_tex, f"raw TeX visible on the page: {visit.raw_tex}"


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_no_request_leaves_the_site_and_no_error(visits, site_url, page, scheme):
    visit = visits[page, scheme]
    assert visit.requests, "no request recorded: is the listener working?"
    foreign = [url for url in visit.requests if not url.startswith((site_url, "data:", "blob:"))]
    assert not foreign, f"requests to other hosts: {foreign}"
    assert not visit.errors, f"console or page errors: {visit.errors}"
    assert not visit.broken_images, f"images that did not load: {visit.broken_images}"


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_no_serious_accessibility_violation(visits, page, scheme):
    assert not visits[page, scheme].violations, "\n".join(visits[page, scheme].violations)


def test_dark_palette_is_really_dark(visits):
    for page in PAGES:
        assert visits[page, "light"].background != visits[page, "dark"].background, page.name


def test_internal_links_and_anchors_resolve(visits, browser, site_url):
    targets = {}
    for visit in visits.values():
        for link in visit.links:
            url, anchor = urldefrag(link)
            targets.setdefault(url, set()).add(anchor)
    assert len(targets) >= len(PAGES), f"only {len(targets)} distinct pages linked: is link collection working?"
    context = browser.new_context()
    broken = []
    for url, anchors in sorted(targets.items()):
        response = context.request.get(url)
        if not response.ok:
            broken.append(f"{url}: HTTP {response.status}")
            continue
        is_html = "html" in response.headers["content-type"]
        ids = set(re.findall(r'\bid="([^"]+)"', response.text())) if is_html else set()
        broken += [f"{url}#{anchor}: no such anchor" for anchor in anchors if anchor and anchor not in ids]
    context.close()
    assert not broken, "\n".join(broken)


def test_instant_navigation_keeps_math_typeset(browser, site_url):
    target = ROOT / "docs" / "batchnorm-training.md"
    page = browser.new_page()
    page.goto(site_url, wait_until="networkidle")
    page.evaluate("window.__before_navigation = true")
    page.locator(".md-nav--primary a", has_text="Batch norm in training mode").first.click()
    page.wait_for_url(site_url + url_path(target))
    page.wait_for_selector(".arithmatex")
    assert page.evaluate("window.__before_navigation === true"), "the click reloaded the page: no instant navigation"
    typeset = page.locator(".arithmatex > .katex, .arithmatex > .katex-display").count()
    assert typeset == formulas_in_source(target) > 0
    page.close()


def test_copy_button_copies_runnable_code_only(browser, site_url):
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url.rstrip("/"))
    page = context.new_page()
    page.goto(site_url + "linearity-model/", wait_until="networkidle")
    page.evaluate("document.querySelectorAll('details').forEach(details => details.open = true)")
    total, checked = page.locator(".language-python.highlight").count(), 0
    labels = page.locator(".tabbed-labels > label")
    for tab in [None, *range(labels.count())]:  # a block in a tab can be hovered once its tab is shown
        if tab is not None:
            labels.nth(tab).click()
        unchecked = page.locator(".language-python.highlight:visible:not([data-copy-checked])")
        while unchecked.count():
            block = unchecked.first
            block.hover()
            block.locator('.md-code__button[data-md-type="copy"]').click()
            copied = page.evaluate("navigator.clipboard.readText()")
            assert copied.strip() == block.locator("code").inner_text().strip()
            compile(copied, f"copied block {checked}", "exec")  # runnable Python: no prompts, no output
            assert not re.search(r"^(>>>|\.\.\.) |#\s*\(\d+\)!?$", copied, flags=re.M), "prompt or annotation copied"
            block.evaluate("block => block.dataset.copyChecked = 'yes'")
            checked += 1
    assert checked == total >= 3, f"{checked} of {total} Python blocks had their copy button tried"
    outputs = page.locator(".language-text.highlight")
    assert outputs.count() >= 3
    copy_in_outputs = page.locator('.language-text.highlight [data-md-type="copy"]').count()
    assert copy_in_outputs == 0, "output blocks offer a copy button"
    context.close()
