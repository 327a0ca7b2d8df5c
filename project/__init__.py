"""The project's facts, one place for tests and benchmarks: where it is, its pages, its mkdocs.yml, its build.

Importable as `project` from the repository root: pytest puts the root on the path (`pythonpath` in
pyproject.toml), and the benchmarks run as modules from there (`python -m benchmarks.site`).
"""

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
MKDOCS_YML = ROOT / "mkdocs.yml"
# What the tests build for, as the Pages workflow would: each page then links its source and a pre-filled issue.
TEST_REPOSITORY = "https://github.com/is-batch-norm-linear/is-batch-norm-linear"


@dataclass(frozen=True)
class Tag:
    """A tagged value of mkdocs.yml (!ENV, !!python/name:) kept as written: MkDocs resolves it, we only carry it."""

    node: yaml.Node


class _Loader(yaml.SafeLoader):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Loader.add_multi_constructor("", lambda loader, tag, node: Tag(node))  # only tags SafeLoader does not know
_Dumper.add_representer(Tag, lambda dumper, tag: tag.node)


def read_config(path: Path = MKDOCS_YML) -> dict:
    """mkdocs.yml as plain YAML; MkDocs' own loader would also load every plugin (1.3 s)."""
    return yaml.load(path.read_text(encoding="utf-8"), _Loader) or {}


def write_config(config: dict, path: Path = MKDOCS_YML):
    """Write what `read_config` read, tags included, so that MkDocs reads the same settings."""
    path.write_text(yaml.dump(config, Dumper=_Dumper, sort_keys=False, allow_unicode=True), encoding="utf-8")


def nav_files(nav) -> list[str]:
    """The files a nav lists, sections included, in order (MkDocs: a name, {title: name} or {title: [...]})."""
    if isinstance(nav, str):
        return [] if "://" in nav else [nav]
    if isinstance(nav, dict):
        return [name for value in nav.values() for name in nav_files(value)]
    return [name for entry in nav or [] for name in nav_files(entry)]


PAGES = [DOCS / name for name in nav_files(read_config().get("nav"))]  # Markdown pages and the notebook
MARKDOWN_PAGES = [page for page in PAGES if page.suffix == ".md"]
NOTEBOOKS = [page for page in PAGES if page.suffix == ".ipynb"]


def page_id(page: Path) -> str:
    """docs/linear.md -> "linear.md", docs/short-answers/index.md -> "short-answers/index.md": unique, unlike a name."""
    return page.relative_to(DOCS).as_posix()


def url_path(page: Path) -> str:
    """docs/index.md -> "", docs/linear.md -> "linear/", docs/a/index.md -> "a/" (MkDocs' directory URLs)."""
    relative = page.relative_to(DOCS).with_suffix("")
    if relative.name == "index":
        relative = relative.parent
    return "" if relative == Path(".") else f"{relative.as_posix()}/"


def load_hook(name: str):
    """hooks/<name>.py as a module, as MkDocs loads it: not a package, its folder on sys.path while it loads."""
    spec = importlib.util.spec_from_file_location(f"hooks_{name}", ROOT / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    saved = sys.path.copy()
    sys.path.insert(0, str(ROOT / "hooks"))  # so that a hook imports its sibling modules, as under MkDocs
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module


@dataclass
class Build:
    site: Path
    url: str | None  # what the site was built for (SITE_URL); None: mkdocs.yml's own
    log: str
    returncode: int | None  # None: it hung and was stopped

    def check(self) -> "Build":
        """This build, if it passed; otherwise an AssertionError that shows its log."""
        if self.returncode != 0:
            raise AssertionError(f"mkdocs build --strict failed (exit status {self.returncode}):\n{self.log}")
        return self


def build_site(site: Path, url: str | None = None, project: Path = ROOT, strict: bool = True,
               timeout: float | None = None, repository: str | None = None) -> Build:
    """`mkdocs build` of `project` into `site`, never with -q (it hides warnings); the log holds stdout and stderr.

    `repository`: the GitHub repository's URL (REPO_URL, as the Pages workflow sets it); None: unknown.
    """
    command = [sys.executable, "-m", "mkdocs", "build", *(["--strict"] if strict else []), "--site-dir", str(site)]
    env = {key: value for key, value in os.environ.items() if key != "REPO_URL"}  # only what the caller says
    env |= {"NO_MKDOCS_2_WARNING": "1", **({"SITE_URL": url} if url else {})}
    env |= {"REPO_URL": repository} if repository else {}
    try:
        result = subprocess.run(command, cwd=project, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as hung:
        parts = (hung.stdout, hung.stderr)
        output = "".join(part if isinstance(part, str) else part.decode() for part in parts if part)
        return Build(site, url, f"the build hung for {timeout} s:\n{output}", None)
    return Build(site, url, result.stdout + result.stderr, result.returncode)
