"""Fixtures for the tests of the built site: the build, a local server and a browser."""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from chromium import CHROMIUM, launch
from page_visits import visit_site
from static_server import serve

ROOT = Path(__file__).parent.parent


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items):
    """Mark what needs the built site as slow, and run the fast layer first.

    Within it the fences come last: they start in the background when collection ends (page_doctest.py) and
    run there while the tests in this process do, so by the time their tests come most are done.
    """
    for item in items:
        if "build" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: (item.get_closest_marker("slow") is not None, "markdown-docs" in item.keywords))


@dataclass
class Build:
    site: Path
    url: str  # where the site is served and what it was built for
    log: str
    returncode: int


@pytest.fixture(scope="session")
def build(tmp_path_factory):
    """The site built once per session with `mkdocs build --strict` (never -q: it hides warnings), and served."""
    site = tmp_path_factory.mktemp("site")
    with serve(site) as url:
        result = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "SITE_URL": url},
        )
        yield Build(site, url, result.stdout + result.stderr, result.returncode)


@pytest.fixture(scope="session")
def site_url(build):
    assert build.returncode == 0, "the site did not build; see test_build_is_strict_and_clean"
    return build.url


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
