"""What readers see, in a real browser: math typeset, nothing third-party, accessible, links that work."""

import json
import re
from pathlib import Path
from urllib.parse import urldefrag

import pytest

from page_doctest import fences
from page_visits import VIEWPORTS, VIEWS
from project import DOCS, PAGES, page_id, url_path

SCHEMES = ["light", "dark"]  # the views of page_visits.py that read the whole document, on a desktop
RAW_TEX = re.compile(r"\$|\\\(|\\\[|\\[a-zA-Z]+\{|\\frac")


def markdown(page: Path) -> str:
    if page.suffix == ".ipynb":
        cells = json.loads(page.read_text(encoding="utf-8"))["cells"]
        return "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    return page.read_text(encoding="utf-8")


def formulas_in_source(page: Path) -> int:
    """Formulas the page's Markdown holds: $...$ and $$...$$ outside code."""
    lines = markdown(page).split("\n")
    for fence in fences("\n".join(lines)):  # the doc-test's fence finder; blanked lines keep paragraphs apart
        start, end = fence.map
        lines[start:end] = [""] * (end - start)
    text = "\n".join(lines)
    text = re.sub(r"`[^`\n]*`", "", text)
    display = re.findall(r"\$\$.*?\$\$", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    inline = r"(?<!\\)\$(?:[^$\n]|\n(?![ \t]*\n))+?\$"  # may wrap onto the next line, not past a paragraph
    return len(display) + len(re.findall(inline, text))


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_math_is_typeset(visits, page):
    visit = visits[page, "light"]
    assert visit.formulas == formulas_in_source(page), "the page holds a different number of formulas than its source"
    assert visit.typeset == visit.formulas, f"{visit.formulas - visit.typeset} formulas were not typeset"
    assert visit.katex_errors == 0
    raw_tex = RAW_TEX.findall(visit.visible_text)
    assert not raw_tex, f"raw TeX visible on the page: {raw_tex}"


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_no_request_leaves_the_site_and_no_error(visits, site_url, page, view):
    visit = visits[page, view]
    assert visit.requests, "no request recorded: is the listener working?"
    foreign = [url for url in visit.requests if not url.startswith((site_url, "data:", "blob:"))]
    assert not foreign, f"requests to other hosts: {foreign}"
    assert not visit.errors, f"console or page errors: {visit.errors}"
    assert not visit.broken_images, f"images that did not load: {visit.broken_images}"


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_no_serious_accessibility_violation(visits, page, scheme):
    """Every axe rule in the light palette; in the dark one, the rules on colour (the document is the same)."""
    assert not visits[page, scheme].violations, "\n".join(visits[page, scheme].violations)


def test_dark_palette_is_really_dark(visits):
    for page in PAGES:
        assert visits[page, "light"].background != visits[page, "dark"].background, page.name


def test_internal_links_and_anchors_resolve(visits, browser, site_url):
    targets = {}
    for visit in visits.values():
        for link in visit.links:
            if not link.startswith(site_url):
                continue
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
    target = DOCS / "batchnorm-training.md"
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


# For each set of framework tabs on the page (one with a Keras tab), the label of the tab that is selected.
SELECTED_FRAMEWORKS = """() => [...document.querySelectorAll(".tabbed-set")]
    .filter(set => [...set.querySelectorAll(".tabbed-labels > label")].some(label => label.innerText === "Keras"))
    .map(set => set.querySelector(`.tabbed-labels > label[for="${set.querySelector(":scope > input:checked").id}"]`))
    .map(label => label.innerText)"""


def selected_frameworks(sync_api, page, source: Path, expected: str) -> set[str]:
    """The tabs selected in the page's framework sets, once it shows the sets `source` holds, all on `expected`.

    Waits a little for Material to apply the stored choice, then reads what is there (so a miss fails with it).
    """
    sets = markdown(source).count('=== "Keras"')
    settled = f"want => (s => s.length === {sets} && s.every(label => label === want))(({SELECTED_FRAMEWORKS})())"
    try:
        page.wait_for_function(settled, arg=expected, timeout=3000)
    except sync_api.TimeoutError:
        pass
    selected = page.evaluate(SELECTED_FRAMEWORKS)
    assert len(selected) == sets > 0, f"{source.name}: {len(selected)} sets of framework tabs shown, {sets} in source"
    return set(selected)


def test_framework_choice_follows_the_reader_across_pages(sync_api, browser, site_url):
    """Keras picked once is Keras in every set of tabs: on the page, after a click to another, on a fresh load."""
    names = ("linearity-model.md", "batchnorm-inference.md", "frameworks.md")  # two sets of tabs, then one and one
    start, by_click, by_load = (DOCS / name for name in names)
    context = browser.new_context(viewport={"width": 1920, "height": 1080})  # a desktop: the nav is in the sidebar
    page = context.new_page()
    page.goto(site_url + url_path(start), wait_until="networkidle")
    assert selected_frameworks(sync_api, page, start, "PyTorch") == {"PyTorch"}, f"{start.name}: not PyTorch first"
    page.locator(".tabbed-labels > label", has_text="Keras").first.click()
    assert selected_frameworks(sync_api, page, start, "Keras") == {"Keras"}, f"{start.name}: not every set followed"
    page.evaluate("window.__before_navigation = true")
    page.locator(".md-nav--primary a", has_text="Batch norm in evaluation mode").first.click()
    page.wait_for_url(site_url + url_path(by_click))
    assert page.evaluate("window.__before_navigation === true"), "the click reloaded the page: no instant navigation"
    assert selected_frameworks(sync_api, page, by_click, "Keras") == {"Keras"}, f"{by_click.name}, reached by a click"
    page.goto(site_url + url_path(by_load), wait_until="networkidle")
    assert selected_frameworks(sync_api, page, by_load, "Keras") == {"Keras"}, f"{by_load.name}, loaded afresh"
    context.close()


def test_the_home_pages_first_phone_screen_states_the_answer(browser, site_url):
    context = browser.new_context(**VIEWPORTS["phone"])
    page = context.new_page()
    page.goto(site_url, wait_until="networkidle")
    answer = page.locator("#in-short")
    box, height = answer.bounding_box(), VIEWPORTS["phone"]["viewport"]["height"]
    assert box and box["y"] + box["height"] <= height, f"the short answer ends {box} below a {height}-pixel screen"
    text = answer.inner_text()
    for verdict in ("training mode", "nonlinear", "evaluation mode", "affine", "linear exactly when"):
        assert verdict in text, f"the first phone screen lacks {verdict!r}: {text}"
    context.close()
