"""The site's own search lands a reader on the answer (issue 21 item 5), typed into the search box in Chromium.

tests/search_queries.yml holds the queries: error messages the pages show, two phrasings of each short answer,
and real questions collected from public trackers and forums. For each, one of the sections that answer it must
be among the links shown for the first three pages of results. The queries listed under `not_landing_yet` are
expected not to land (strict: when one lands, move it back), so the list says where search still fails.
"""

import json
import re

import pytest
import yaml
from bs4 import BeautifulSoup

from project import DOCS, ROOT, url_path

QUERIES = yaml.safe_load((ROOT / "tests" / "search_queries.yml").read_text(encoding="utf-8"))
KINDS = ["error_messages", "short_answers", "real_questions"]
NOT_LANDING_YET = set(QUERIES.get("not_landing_yet") or [])
SHOWN_PAGES = 3
META = ".md-search-result__meta"  # Material's line above the results: "Type to start searching", "3 matching documents"


def cases():
    for kind in KINDS:
        for item in QUERIES[kind]:
            marks = [pytest.mark.xfail(strict=True, reason="listed under not_landing_yet")] * (
                item["query"] in NOT_LANDING_YET)
            yield pytest.param(item["query"], item["answers"], marks=marks, id=f"{kind}: {item['query'][:60]}")


def answer_url(answer: str) -> str:
    """short-answers/eval-worse.md#why -> "short-answers/eval-worse/#why", relative to the site's root."""
    page, _, anchor = answer.partition("#")
    return url_path(DOCS / page) + (f"#{anchor}" if anchor else "")


@pytest.fixture(scope="module")
def search(browser, site_url):
    """A page with the search box open; calling it types a query and returns the links of the first pages shown."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(site_url)
    box = page.locator("input.md-search__input")
    box.focus()  # the index loads when search is first opened (overrides/main.html)

    def shown(query: str) -> list[str]:
        box.fill("")
        box.press("End")  # Material reads the query on keyup
        page.wait_for_function(f"() => /Type to start/.test(document.querySelector('{META}').textContent)")
        box.fill(query)
        box.press("End")
        ready = f"() => !/Initializing|Type to start/.test(document.querySelector('{META}').textContent)"
        page.wait_for_function(ready)
        links = page.evaluate(f"""() => [...document.querySelectorAll('.md-search-result__list > li')]
            .slice(0, {SHOWN_PAGES}).flatMap(item => [...item.querySelectorAll('a.md-search-result__link')]
            .filter(link => link.offsetParent !== null).map(link => link.href))""")  # visible: not under "more"
        return [link.removeprefix(site_url) for link in links]

    yield shown
    page.close()


@pytest.mark.parametrize(("query", "answers"), list(cases()))
def test_the_answer_is_among_the_first_results(search, query, answers):
    shown = search(query)
    wanted = [answer_url(answer) for answer in answers]
    assert set(wanted) & set(shown), f"{query!r}: none of {wanted} among the first {SHOWN_PAGES} pages: {shown}"


def test_every_answer_is_a_section_of_the_site(site):
    missing = []
    for item in (item for kind in KINDS for item in QUERIES[kind]):
        for answer in item["answers"]:
            page, _, anchor = answer.partition("#")
            html = site / url_path(DOCS / page) / "index.html"
            if not html.exists() or (anchor and not BeautifulSoup(html.read_text(encoding="utf-8"),
                                                                   "html.parser").find(id=anchor)):
                missing.append(answer)
    assert not missing, f"answers in tests/search_queries.yml that are not on the site: {missing}"


def test_the_list_has_what_issue_21_asks_for():
    hub = (DOCS / "short-answers" / "index.md").read_text(encoding="utf-8")
    questions = re.findall(r"^- \[.*\]\(([\w-]+\.md#[\w-]+)\)", hub, flags=re.M)
    phrasings = [answer for item in QUERIES["short_answers"] for answer in item["answers"][:1]]
    thin = [question for question in questions if phrasings.count(f"short-answers/{question}") < 2]
    assert questions and not thin, f"short answers with fewer than two phrasings: {thin}"
    sourced = [item for item in QUERIES["real_questions"] if re.match(r"https://", item.get("source", ""))]
    assert len(sourced) == len(QUERIES["real_questions"]) >= 30, "at least 30 real questions, each with its source"
    unknown = NOT_LANDING_YET - {item["query"] for kind in KINDS for item in QUERIES[kind]}
    assert not unknown, f"not_landing_yet names queries that are not in the list: {unknown}"


def test_the_ranking_works_as_contributing_says(site):
    """CONTRIBUTING and mkdocs.yml explain misses by three facts of Material's search: a heading's words weigh 1000
    times a text's, words are not stemmed, and the separator drops exactly lunr's English stop words."""
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    fields, pipeline = index["config"]["fields"], index["config"]["pipeline"]
    assert fields["title"]["boost"] == 1000 * fields["text"]["boost"], f"search fields are now {fields}"
    assert "stemmer" not in pipeline, f"the index now stems ({pipeline}): a prefix no longer misses a plural"
    worker = next((site / "assets" / "javascripts" / "workers").glob("search.*.js"))
    lunr_words = re.search(r"generateStopWordFilter\(\[([^\]]*)\]\)", worker.read_text(encoding="utf-8"))
    assert lunr_words, "lunr's stop-word list is no longer in Material's search worker: read it from lunr's source"
    separator = index["config"]["separator"]
    ours = re.search(r"\(\?<!\[A-Za-z0-9\]\)\(\?:(.*)\)\(\?!\[A-Za-z0-9\]\)$", separator)
    assert ours, f"mkdocs.yml's separator no longer ends with the stop-word alternation: {separator}"
    our_words = {re.sub(r"\[(\w)\w\]", r"\1", word).lower() for word in ours.group(1).split("|")}
    assert our_words == set(json.loads(f"[{lunr_words.group(1)}]")), "the separator's stop words are not lunr's"
