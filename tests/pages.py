"""What the tests share about the project: where a page of docs/ is served, and the build hooks as modules."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"


def url_path(page: Path) -> str:
    """docs/index.md -> "", docs/linear.md -> "linear/" (MkDocs' directory URLs)."""
    relative = page.relative_to(DOCS).with_suffix("")
    return "" if relative.name == "index" else f"{relative.as_posix()}/"


def load_hook(name: str):
    """hooks/<name>.py as a module, as MkDocs loads it (the hooks folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"hooks_{name}", ROOT / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
