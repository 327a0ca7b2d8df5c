"""Fixtures for the tests of the built site: the build, a local server and a browser."""

import os
import shutil

import pytest

from page_visits import visit_site
from project import ROOT, TEST_REPOSITORY, build_site
from project.chromium import CHROMIUM, launch
from project.static_server import serve


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items):
    """Mark what needs the built site as slow, and run the fast layer first.

    Within it the fences come last: they start in the background when collection ends (page_doctest/) and
    run there while the tests in this process do, so by the time their tests come most are done.
    """
    for item in items:
        if "build" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: (item.get_closest_marker("slow") is not None, "markdown-docs" in item.keywords))


@pytest.fixture(scope="session")
def build(tmp_path_factory):
    """The site built once per session with `mkdocs build --strict`, for the address it is served at and, as the
    Pages workflow builds it, with its GitHub repository known."""
    site = tmp_path_factory.mktemp("site")
    with serve(site) as url:
        yield build_site(site, url, repository=TEST_REPOSITORY)


@pytest.fixture(scope="session")
def site(build):
    """The built site's folder, once the build is known to have passed (else every user fails with its log)."""
    return build.check().site


@pytest.fixture(scope="session")
def site_url(build):
    return build.check().url


@pytest.fixture(scope="session")
def sync_api():
    """Playwright's sync API, once Chromium is known to be there: a visible skip without it, a failure in CI."""
    try:
        import playwright.sync_api as playwright_api
    except ImportError:
        playwright_api, missing = None, "playwright is not installed: `pip install -r requirements.txt`"
    else:
        missing = None if CHROMIUM.exists() else f"no Chromium at {CHROMIUM}: `apt-get install chromium`"
    if missing and os.environ.get("REQUIRE_BROWSER"):
        pytest.fail(f"REQUIRE_BROWSER is set, but {missing}")
    if missing:
        pytest.skip(f"browser tests need Chromium and playwright; {missing}")
    return playwright_api


@pytest.fixture(scope="session")
def browser(sync_api):
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts():
    """Folder for screenshots, covered by .gitignore."""
    folder = ROOT / "test-artifacts"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


@pytest.fixture(scope="session")
def visits(sync_api, site_url, artifacts):
    """Every page in every view (page_visits.py), loaded once for all the browser tests; screenshots saved."""
    return visit_site(sync_api, site_url, artifacts)
