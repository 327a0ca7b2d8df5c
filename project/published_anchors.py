"""The section anchors the site has published, so that a link a reader saved still lands after a page is split.

`tests/published_anchors.json` records, per page URL, the ids of its headings. A test fails when one of them is
no longer on its page; keep an element with that id there (a heading, or a link to where the section moved).

Record the anchors of a build before moving sections (adds, never removes):
    mkdocs build -d /tmp/site && python -m project.published_anchors /tmp/site
"""

import json
import sys
from pathlib import Path

from bs4 import BeautifulSoup

from project import ROOT

RECORD = ROOT / "tests" / "published_anchors.json"
HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]


def page_url(html_file: Path, site: Path) -> str:
    """site/linear/index.html -> "linear/", site/index.html -> ""."""
    folder = html_file.parent.relative_to(site).as_posix()
    return "" if folder == "." else f"{folder}/"


def heading_ids(html: str) -> set[str]:
    article = BeautifulSoup(html, "html.parser").find("article")
    return {tag["id"] for tag in article.find_all(HEADINGS) if tag.get("id")} if article else set()


def site_anchors(site: Path) -> dict[str, list[str]]:
    pages = (path for path in site.rglob("index.html") if path.relative_to(site).parts[0] not in {"search", "assets"})
    return {page_url(path, site): sorted(heading_ids(path.read_text(encoding="utf-8"))) for path in pages}


def read_record() -> dict[str, list[str]]:
    return json.loads(RECORD.read_text(encoding="utf-8")) if RECORD.exists() else {}


def record(site: Path):
    recorded = read_record()
    for url, ids in site_anchors(site).items():
        recorded[url] = sorted({*recorded.get(url, []), *ids})
    RECORD.write_text(json.dumps(dict(sorted(recorded.items())), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 2 or not (Path(sys.argv[1]) / "index.html").exists():
        sys.exit("usage: python -m project.published_anchors SITE_DIR (a folder `mkdocs build -d` wrote)")
    record(Path(sys.argv[1]))
