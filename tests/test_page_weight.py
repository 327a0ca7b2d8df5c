"""Lighter pages that read, look and behave the same: hooks/page_weight.py, the lazy layout rules in
docs/stylesheets/extra.css and the deferred search index in overrides/main.html."""

import html
import json
import re
from pathlib import Path

import material
import pytest
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from page_visits import LAZY, RENDER_EVERYTHING, VIEWPORTS
from project import PAGES, load_hook, page_id, url_path

ACTIVE_TOC_LINK_IS = """href =>
    document.querySelector(".md-sidebar--secondary .md-nav__link--active")?.getAttribute("href") === href"""
SAMPLE = '''import torch

x = torch.ones(3) * 2.0  # a comment
if x.sum() > 0 and True:
    print(f"sum: {x.sum():.1f}", None)
'''


@pytest.fixture(scope="module")
def hook():
    return load_hook("page_weight")


def text_of(markup):
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


# ---- The hook's logic ----


def test_token_colours_are_read_from_the_stylesheets(hook):
    css = ".highlight .o{color:red}.highlight .kc,.highlight .n{color:var(--md-code-hl-name-color)}"
    assert hook.styled_tokens([css, ":root{--md-code-hl-name-color:var(--md-code-fg-color)}"]) == {"o"}
    assert hook.styled_tokens([css, "[data-md-color-scheme=x]{--md-code-hl-name-color:#123}"]) == {"o", "kc", "n"}


def test_plain_code_keeps_every_character_and_every_colour(hook):
    stylesheets = Path(material.__file__).parent / "templates" / "assets" / "stylesheets"
    styled = hook.styled_tokens(path.read_text(encoding="utf-8") for path in stylesheets.glob("*.css"))
    highlighted = highlight(SAMPLE, PythonLexer(), HtmlFormatter(wrapcode=True))
    plain = hook.plain_code(highlighted, styled)
    assert text_of(plain) == text_of(highlighted)
    assert text_of(plain).strip() == SAMPLE.strip()
    before = re.findall(r'<span class="([\w-]+)">', highlighted)
    after = re.findall(r'<span class="([\w-]+)">', plain)
    assert after == [token for token in before if token in styled], "a coloured token lost its colour"
    assert len(after) < len(before), "nothing was left out: is the sample highlighted as Material would be?"


def test_paragraphs_math_and_tables_a_screen_away_from_both_ends_are_marked(hook):
    half = "x" * (hook.SCREEN_CHARACTERS // 2)
    blocks = [
        "<h1>Title</h1>", f"<p>{half}</p>", f"<p>{half}</p>",  # a screen of text before what follows
        '<div class="arithmatex">y</div>', "<p>z</p>", '<div class="highlight">code</div>', "<h2>Next</h2>",
        '<div class="md-typeset__scrollwrap">t</div>',
        f"<p>{half}</p>", f"<p>{half}</p>",  # a screen of text after what precedes
    ]
    page = "<body><nav>{}</nav><article>\n{}\n</article>".format("n" * 5000, "\n".join(blocks))
    marked = hook.mark_lazy_blocks(page).split("\n")[1:-1]
    assert [hook.LAZY in block for block in marked] == [False] * 3 + [True, True, False, False, True] + [False] * 2
    assert hook.mark_lazy_blocks(page.replace(half, "x")) == page.replace(half, "x"), "a short page has no marks"


# ---- The built site ----


def without(blocks, html):
    for block in blocks:
        html = html.replace(block, "")
    return html


def test_output_blocks_are_not_searchable_but_errors_and_code_are(site, hook):
    """Output blocks repeat numbers the code prints: out of search; one that shows an error is what a reader pastes."""
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    searchable = html.unescape("\n".join(entry["text"] for entry in index["docs"]))
    outputs = errors = codes = 0
    built_pages = {page: (site / url_path(page) / "index.html").read_text(encoding="utf-8") for page in PAGES}
    # a line that any page also shows outside its Output blocks (a quoted error message) is rightly searchable
    output_blocks = {page: hook.output_blocks(built) for page, built in built_pages.items()}  # as the hook finds them
    elsewhere = "\n".join(text_of(without(output_blocks[page], built)) for page, built in built_pages.items())
    errors_shown = [block for blocks in output_blocks.values() for block in blocks if hook.shows_an_error(block)]
    elsewhere += "\n".join(text_of(block) for block in errors_shown)  # searchable by design
    for page, built in built_pages.items():
        for block in output_blocks[page]:
            lines = [line for line in text_of(block).splitlines() if len(line) > 12 and line not in elsewhere]
            if hook.shows_an_error(block):
                errors += 1
                shown = text_of(re.sub(r'<span class="filename">.*?</span>', "", block)).splitlines()
                assert all(line in searchable for line in shown), f"{page_id(page)}: an error not found by search"
                continue
            outputs += bool(lines)
            assert not [line for line in lines if line in searchable], f"{page_id(page)}: Output found by search"
        for block in re.findall(r'<div class="language-python highlight">(.*?)</div>', built, flags=re.S):
            codes += 1
            code = text_of(re.sub(r'<span class="filename">.*?</span>', "", block))
            assert all(line in searchable for line in code.splitlines()), f"{page.name}: code not found"
    assert outputs and errors and codes, "no Output, error or code blocks found: has the markup changed?"


# ---- In the browser ----


@pytest.mark.parametrize("view", ["light", "phone"], ids=["desktop", "phone"])
def test_nothing_on_the_first_screen_is_laid_out_late(visits, view):
    """A block laid out lazily on the first screen would appear a frame late and push what follows."""
    lazy_somewhere = 0
    for page_file in PAGES:
        visit = visits[page_file, view]
        lazy_somewhere += len(visit.lazy)
        on_screen = [(tag, top) for tag, top in visit.lazy if top < visit.height]
        assert not on_screen, f"{page_file.name}: laid out lazily on the first screen: {on_screen}"
    assert lazy_somewhere > 0, "no block is laid out lazily on any page: are the rules in extra.css applied?"


def longest_page(site):
    return max(PAGES, key=lambda page: (site / url_path(page) / "index.html").stat().st_size)


def settled_top(page, target):
    """The heading's distance from the top of the screen, once it has not moved for half a second."""
    tops = []
    while len(tops) < 5 or len(set(tops[-5:])) > 1:
        assert len(tops) < 100, f"#{target} is still moving after 10 s: {tops[-5:]}"
        page.wait_for_timeout(100)
        tops.append(page.evaluate("id => document.getElementById(id).getBoundingClientRect().top", target))
    return tops[-1]


def heading_top(browser, url, target, render_everything):
    """Where the heading `target` ends up on a phone's screen when a link from elsewhere opens its section,
    without lazy layout or with it."""
    context = browser.new_context(**VIEWPORTS["phone"])
    if render_everything:
        context.add_init_script(f"addEventListener('DOMContentLoaded', () => document.head.insertAdjacentHTML("
                                f"'beforeend', '<style>{RENDER_EVERYTHING}</style>'))")
    page = context.new_page()
    page.goto(f"{url}#{target}", wait_until="networkidle")
    top = settled_top(page, target)
    context.close()
    return top


def test_a_link_to_a_section_lands_where_it_would_without_lazy_layout(browser, site, site_url):
    """Links from other pages and search results; links within a page are the next test's."""
    url = site_url + url_path(longest_page(site))
    page = browser.new_page()
    page.goto(url, wait_until="networkidle")
    headings = page.eval_on_selector_all("article h2[id]", "headings => headings.map(h => h.id)")
    page.close()
    for target in [headings[len(headings) // 2], headings[-2]]:
        lazy = heading_top(browser, url, target, render_everything=False)
        everything = heading_top(browser, url, target, render_everything=True)
        assert abs(lazy - everything) <= 2, f"#{target}: {lazy:.0f} px from the top, not {everything:.0f}"


def test_table_of_contents_follows_the_reader(browser, site, site_url):
    page_file = longest_page(site)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(site_url + url_path(page_file), wait_until="networkidle")
    links = page.locator(".md-sidebar--secondary a.md-nav__link")
    assert links.count() >= 3
    for index in (links.count() - 2, 1):  # down past lazily laid-out blocks, then back up
        link = links.nth(index)
        href = link.get_attribute("href")
        link.click()
        page.wait_for_function(ACTIVE_TOC_LINK_IS, arg=href, timeout=5000)
    context.close()


def test_print_lays_out_everything(browser, site, site_url):
    page = browser.new_page()
    page.goto(site_url + url_path(longest_page(site)), wait_until="networkidle")
    page.emulate_media(media="print")
    skipped = page.evaluate(LAZY.replace("!element.closest(\".katex\")", "true"))
    page.emulate_media(media="screen")
    lazy_on_screen = page.evaluate(LAZY)
    page.close()
    assert lazy_on_screen, "nothing is laid out lazily on screen: this test would prove nothing"
    assert not skipped, f"printing would skip {len(skipped)} blocks"


def test_search_index_loads_when_the_reader_opens_search(browser, site_url):
    page = browser.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(site_url + "batchnorm-training/", wait_until="networkidle")
    assert not [url for url in requests if "search_index" in url], "the index was requested before search"
    page.locator(".md-search__input").click()
    page.keyboard.type("running variance")
    page.wait_for_selector(".md-search-result__item", timeout=10000)
    assert [url for url in requests if url.endswith("search/search_index.json")]
    assert page.locator(".md-search-result__item").count() > 0
    page.close()
