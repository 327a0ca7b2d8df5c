"""Where the build knows the GitHub repository, each page links its source and a pre-filled issue, and the
notebook opens in Colab (issue 21 item 7); where it does not, none of those links is there."""

from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from project import NOTEBOOKS, PAGES, ROOT, TEST_REPOSITORY, build_site, page_id, url_path
from test_faults import copy_project


def links(html: str) -> dict[str, str]:
    return {a["data-page-link"]: a["href"] for a in BeautifulSoup(html, "html.parser").select("a[data-page-link]")}


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_each_page_links_its_source_and_a_prefilled_issue(site, site_url, page):
    found = links((site / url_path(page) / "index.html").read_text(encoding="utf-8"))
    source = f"{TEST_REPOSITORY}/blob/main/docs/{page_id(page)}"
    assert found.get("source") == source, f"{page_id(page)} links its source as {found.get('source')}"
    assert (ROOT / source.split("/blob/main/")[1]).exists()
    report = urlsplit(found["report"])
    assert f"{report.scheme}://{report.netloc}{report.path}" == f"{TEST_REPOSITORY}/issues/new"
    query = parse_qs(report.query)
    assert query["title"][0].startswith("Problem on the page: ")
    assert f"Page: {site_url}{url_path(page)}\n" in query["body"][0] and source in query["body"][0]
    colab = f"https://colab.research.google.com/github/{TEST_REPOSITORY.split('github.com/')[1]}/blob/main/docs/"
    assert found.get("colab") == (colab + page_id(page) if page in NOTEBOOKS else None)


@pytest.mark.slow
def test_no_such_link_when_the_repository_is_unknown(tmp_path):
    pages = {"index.md": "---\ndescription: A page.\n---\n\n# Home\n", "try-it.ipynb": NOTEBOOKS[0].read_text()}
    project = copy_project(tmp_path, pages)
    build = build_site(project / "site", project=project, timeout=120).check()
    for name in ["index.html", "try-it/index.html"]:
        html = (build.site / name).read_text(encoding="utf-8")
        assert "Download the notebook" in html or name == "index.html"  # the page was built by the same template
        assert not links(html), f"{name} links {links(html)} although no repository was given"
