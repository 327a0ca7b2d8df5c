"""Benchmark the site as readers get it, against a stock Material site with client-side KaTeX.

    python benchmarks/site.py            # needs Chromium (/usr/bin/chromium) and npm

Builds the site, serves it gzipped on 127.0.0.1, runs Lighthouse (mobile, default throttling) on every
page and on the anchor, times `mkdocs build --strict` and `pytest`, and rewrites the results table in
README.md between the benchmark markers. Lighthouse and KaTeX's client-side files are installed with npm
into .benchmark/ (ignored by git).

The anchor is one page, docs/batchnorm-training.md, built with stock Material and math set up the way
Material's documentation recommends: arithmatex plus KaTeX's auto-render in the browser. Its KaTeX files
are served from the same local server instead of a CDN, since the benchmark runs offline, and its fonts
are off as ours are, so that the comparison is about math alone.
"""

import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from chromium import CHROMIUM, FLAGS  # noqa: E402  (started as the browser tests start it)
from static_server import serve  # noqa: E402  (the test suite's gzip server)

TOOLS = ROOT / ".benchmark"
NPM_PACKAGES = ["lighthouse@13.5.0", "katex@0.19.1"]
ANCHOR_PAGE = ROOT / "docs" / "batchnorm-training.md"
TARGETS = {"performance": 98, "accessibility": 100, "best-practices": 100, "seo": 100}
BYTES_TARGET = 0.6  # at most this fraction of the anchor's transferred bytes
START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"

ANCHOR_CONFIG = """\
site_name: Anchor
site_url: {url}
theme:
  name: material
  font: false
markdown_extensions:
  - pymdownx.arithmatex:
      generic: true
  - pymdownx.superfences
  - pymdownx.highlight
extra_javascript:
  - javascripts/katex.js
  - katex/katex.min.js
  - katex/contrib/auto-render.min.js
extra_css:
  - katex/katex.min.css
"""
# Material's recipe, rendering again after each instant page change.
ANCHOR_SCRIPT = """\
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "$$",  right: "$$",  display: true },
      { left: "$",   right: "$",   display: false },
      { left: "\\\\(", right: "\\\\)", display: false },
      { left: "\\\\[", right: "\\\\]", display: true }
    ],
  })
})
"""


def install_tools():
    if not (TOOLS / "node_modules" / ".bin" / "lighthouse").exists():
        subprocess.run(["npm", "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", *NPM_PACKAGES], check=True)


def mkdocs_build(project: Path, site: Path, url: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=project, capture_output=True, text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "SITE_URL": url},
    )
    if result.returncode:
        sys.exit(f"mkdocs build failed in {project}:\n{result.stdout}{result.stderr}")
    return time.perf_counter() - started


def make_anchor(folder: Path, url: str) -> Path:
    docs = folder / "docs"
    (docs / "javascripts").mkdir(parents=True)
    page = ANCHOR_PAGE.read_text(encoding="utf-8")
    # The same math and prose; our build-time figures and their code blocks are not part of stock Material.
    page = re.sub(r"^!\[[^\]]*\]\(figures/[^)]*\).*\n", "", page, flags=re.M)
    page = re.sub(r"^\?\?\? .*\n(?:(?:    .*)?\n)*", "", page, flags=re.M)
    (docs / "index.md").write_text(page, encoding="utf-8")
    katex = TOOLS / "node_modules" / "katex" / "dist"
    for name in ["katex.min.js", "katex.min.css", "contrib/auto-render.min.js", "fonts"]:
        (docs / "katex" / name).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (katex / name).is_dir() else shutil.copy)(katex / name, docs / "katex" / name)
    (docs / "javascripts" / "katex.js").write_text(ANCHOR_SCRIPT)
    (folder / "mkdocs.yml").write_text(ANCHOR_CONFIG.format(url=url))
    return folder


def lighthouse(url: str) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        subprocess.run(
            [str(TOOLS / "node_modules" / ".bin" / "lighthouse"), url, "--quiet", "--output=json",
             f"--output-path={report}", "--only-categories=performance,accessibility,best-practices,seo",
             f"--chrome-flags={' '.join(['--headless=new', *FLAGS])}"],
            check=True, env={**os.environ, "CHROME_PATH": str(CHROMIUM)},
        )
        result = json.loads(report.read_text())
    audits = result["audits"]
    return {
        **{name: round(category["score"] * 100) for name, category in result["categories"].items()},
        "bytes": audits["total-byte-weight"]["numericValue"],
        "lcp": audits["largest-contentful-paint"]["numericValue"] / 1000,
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "misses": [
            f"{audit_id}: {audits[audit_id].get('displayValue', audits[audit_id]['score'])}"
            for category in result["categories"].values()
            for audit_id in (ref["id"] for ref in category["auditRefs"] if ref["weight"] > 0)
            if audits[audit_id]["score"] is not None and audits[audit_id]["score"] < 0.9
        ],
    }


def pages(site: Path) -> list[str]:
    return sorted(str(path.parent.relative_to(site)).replace(".", "") + "/" for path in site.rglob("index.html")
                  if "search" not in path.parts)


def pytest_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=ROOT, check=True,
                   capture_output=True)
    return time.perf_counter() - started


def table(results: dict, anchor: dict, build_s: float, anchor_build_s: float, tests_s: float) -> str:
    chromium = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        f"Measured {datetime.date.today()} on {platform.machine()} with {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {chromium}, Lighthouse {NPM_PACKAGES[0].split('@')[1]} (mobile, default "
        "throttling), site served gzipped on 127.0.0.1. Ratios are to the anchor (stock Material, client-side "
        "KaTeX, one page).",
        "",
        "| Page | Performance | Accessibility | Best practices | SEO | Transferred | vs anchor | LCP | CLS |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in [*results.items(), ("anchor", anchor)]:
        lines.append(
            f"| `{name}` | {row['performance']} | {row['accessibility']} | {row['best-practices']} | {row['seo']} "
            f"| {row['bytes'] / 1024:.0f} KiB | {row['bytes'] / anchor['bytes']:.2f} | {row['lcp']:.2f} s "
            f"| {row['cls']:.3f} |"
        )
    lines += [
        "",
        f"`mkdocs build --strict`: {build_s:.1f} s (anchor: {anchor_build_s:.1f} s). `pytest`: {tests_s:.0f} s.",
        "Targets: performance ≥ 98, accessibility, best practices and SEO 100, transferred bytes ≤ 0.6 × anchor.",
    ]
    return "\n".join(lines)


def main():
    install_tools()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        with serve(scratch / "site") as url, serve(scratch / "anchor-site") as anchor_url:
            (scratch / "site").mkdir(), (scratch / "anchor-site").mkdir()
            build_s = mkdocs_build(ROOT, scratch / "site", url)
            anchor_build_s = mkdocs_build(make_anchor(scratch / "anchor", anchor_url), scratch / "anchor-site", anchor_url)
            anchor = lighthouse(anchor_url)
            for page in pages(scratch / "site"):
                results[page] = lighthouse(url + page.lstrip("/"))
                print(page, results[page], flush=True)
    tests_s = pytest_seconds()
    readme = (ROOT / "README.md").read_text()
    report = table(results, anchor, build_s, anchor_build_s, tests_s)
    readme = re.sub(f"{START}.*?{END}", lambda _: f"{START}\n{report}\n{END}", readme, flags=re.S)
    (ROOT / "README.md").write_text(readme)
    print(report)
    for page, row in results.items():
        misses = [f"{name} {row[name]} < {target}" for name, target in TARGETS.items() if row[name] < target]
        if row["bytes"] > BYTES_TARGET * anchor["bytes"]:
            misses.append(f"bytes {row['bytes'] / anchor['bytes']:.2f} of the anchor's")
        if misses:
            print(f"MISSED {page}: {', '.join(misses)}; Lighthouse: {row['misses']}")


if __name__ == "__main__":
    main()
