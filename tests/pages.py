"""Where a page of docs/ is served in the built site."""

from pathlib import Path

DOCS = Path(__file__).parent.parent / "docs"


def url_path(page: Path) -> str:
    """docs/index.md -> "", docs/linear.md -> "linear/" (MkDocs' directory URLs)."""
    relative = page.relative_to(DOCS).with_suffix("")
    return "" if relative.name == "index" else f"{relative.as_posix()}/"
