"""Benchmark the site as readers get it, against a stock Material site with client-side KaTeX.

    python -m benchmarks.site   # from the repository root; needs Chromium (/usr/bin/chromium) and npm

Builds the site (timing `mkdocs build --strict` RUNS times), serves it gzipped on 127.0.0.1, runs
Lighthouse (mobile, default throttling) RUNS times on every page and on the anchor, in turns, and
rewrites the results table in benchmarks/README.md between the benchmark markers: medians, and the spread of the
performance score. Lighthouse and KaTeX's client-side files are installed with npm into .benchmark/
(ignored by git). Lighthouse's performance score depends on how busy the machine is: the table records
the load average, and figures taken under load are not comparable.

The anchor is one page, docs/batchnorm-training.md, built with stock Material and math set up the way
Material's documentation recommends: arithmatex plus KaTeX's auto-render in the browser. Its KaTeX files
are served from the same local server instead of a CDN, since the benchmark runs offline, and its fonts
are off as ours are, so that the comparison is about math alone.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.suite import write_block  # the README both scripts write into
from project import DOCS, ROOT, build_site
from project.chromium import CHROMIUM, FLAGS  # started as the browser tests start it
from project.static_server import serve  # the test suite's gzip server

TOOLS = ROOT / ".benchmark"
NPM_PACKAGES = ["lighthouse@13.5.0", "katex@0.19.1"]
ANCHOR_PAGE = DOCS / "batchnorm-training.md"
RUNS = 3  # per page: the table shows medians, and the performance score's spread
START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"


@dataclass(frozen=True)
class Targets:
    """What every page must reach; the sentence of targets under the table is written from these."""

    performance: int = 97  # median of the runs
    accessibility: int = 100
    best_practices: int = 100
    seo: int = 100
    bytes_ratio: float = 0.5  # transferred bytes, at most this fraction of the anchor's (issue 21)
    cls: float = 0.01  # largest cumulative layout shift of the runs
    build_seconds: float = 10.0  # median `mkdocs build --strict`

    def misses(self, row: dict, anchor: dict) -> list[str]:
        scores = {"performance": self.performance, "accessibility": self.accessibility,
                  "best-practices": self.best_practices, "seo": self.seo}
        misses = [f"{name} {row[name]} < {target}" for name, target in scores.items() if row[name] < target]
        if row["bytes"] > self.bytes_ratio * anchor["bytes"]:
            misses.append(f"bytes {row['bytes'] / anchor['bytes']:.2f} of the anchor's > {self.bytes_ratio}")
        if row["cls"] > self.cls:
            misses.append(f"CLS {row['cls']:.3f} > {self.cls}")
        return misses

    def sentence(self) -> str:
        return (
            f"Targets: performance ≥ {self.performance} (median of {RUNS} runs), accessibility, best practices "
            f"and SEO {self.seo}, transferred bytes ≤ {self.bytes_ratio} × the anchor's, layout shift ≤ {self.cls}, "
            f"`mkdocs build --strict` ≤ {self.build_seconds:.0f} s."
        )


TARGETS = Targets()

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
        command = ["npm", "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", *NPM_PACKAGES]
        subprocess.run(command, check=True)


def mkdocs_build(project: Path, site: Path, url: str, strict: bool = True) -> float:
    started = time.perf_counter()
    build_site(site, url, project, strict).check()
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
        "tbt": audits["total-blocking-time"]["numericValue"],
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "misses": [
            f"{audit_id}: {audits[audit_id].get('displayValue', audits[audit_id]['score'])}"
            for category in result["categories"].values()
            for audit_id in (ref["id"] for ref in category["auditRefs"] if ref["weight"] > 0)
            if audits[audit_id]["score"] is not None and audits[audit_id]["score"] < 0.9
        ],
    }


def summary(runs: list[dict]) -> dict:
    """Medians of the runs; the performance score's range; the largest layout shift (the target is a bound)."""
    row = {key: statistics.median(run[key] for run in runs) for key in runs[0] if key not in ("misses", "cls")}
    row["cls"] = max(run["cls"] for run in runs)
    row["low"], row["high"] = min(run["performance"] for run in runs), max(run["performance"] for run in runs)
    row["misses"] = sorted({miss for run in runs for miss in run["misses"]})
    return row


def pages(site: Path) -> list[str]:
    return sorted(str(path.parent.relative_to(site)).replace(".", "") + "/" for path in site.rglob("index.html")
                  if "search" not in path.parts)


def score(value: float) -> str:
    return f"{value:g}"


def table(results: dict, anchor: dict, builds: list[float], anchor_build_s: float, loads: list[float]) -> str:
    chromium = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        f"Measured {datetime.date.today()} on {platform.machine()} with {os.cpu_count()} cores (load average "
        f"{statistics.median(loads):.1f} as the median Lighthouse run started, {max(loads):.1f} at most), Python "
        f"{platform.python_version()}, {chromium}, Lighthouse {NPM_PACKAGES[0].split('@')[1]} (mobile, default "
        "throttling), site served gzipped on 127.0.0.1, "
        f"{RUNS} runs per page: medians, performance as median (lowest–highest), CLS the largest. Ratios are to "
        "the anchor (stock Material, client-side KaTeX, one page).",
        "",
        "| Page | Performance | Accessibility | Best practices | SEO | Transferred | vs anchor | LCP | TBT | CLS "
        "| Targets |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in [*results.items(), ("anchor", anchor)]:
        misses = TARGETS.misses(row, anchor)
        verdict = "—" if name == "anchor" else ("met" if not misses else "missed: " + "; ".join(misses))
        lines.append(
            f"| `{name}` | {score(row['performance'])} ({row['low']}–{row['high']}) | {score(row['accessibility'])} "
            f"| {score(row['best-practices'])} | {score(row['seo'])} | {row['bytes'] / 1024:.0f} KiB "
            f"| {row['bytes'] / anchor['bytes']:.2f} | {row['lcp']:.2f} s | {row['tbt']:.0f} ms | {row['cls']:.3f} "
            f"| {verdict} |"
        )
    build_s = statistics.median(builds)
    build_verdict = "met" if build_s <= TARGETS.build_seconds else f"missed (> {TARGETS.build_seconds:.0f} s)"
    lines += [
        "",
        f"`mkdocs build --strict`: {build_s:.1f} s, median of {len(builds)} ({min(builds):.1f}–{max(builds):.1f} s), "
        f"target {build_verdict} (anchor: {anchor_build_s:.1f} s).",
        TARGETS.sentence(),
    ]
    return "\n".join(lines)


def main():
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    install_tools()
    runs, anchor_runs, loads = {}, [], []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        with serve(scratch / "site") as url, serve(scratch / "anchor-site") as anchor_url:
            (scratch / "site").mkdir(), (scratch / "anchor-site").mkdir()
            builds = [mkdocs_build(ROOT, scratch / f"build-{run}", url) for run in range(1, RUNS)]
            builds.append(mkdocs_build(ROOT, scratch / "site", url))
            anchor_project = make_anchor(scratch / "anchor", anchor_url)
            # Not strict: the anchor is the one page, and its links to the site's other pages have no target.
            anchor_build_s = mkdocs_build(anchor_project, scratch / "anchor-site", anchor_url, strict=False)
            for run in range(RUNS):  # in turns, so that a busy moment does not fall on one page's runs only
                loads.append(os.getloadavg()[0])
                anchor_runs.append(lighthouse(anchor_url))
                print(f"run {run + 1}/{RUNS} anchor", {k: v for k, v in anchor_runs[-1].items() if k != "misses"})
                for page in pages(scratch / "site"):
                    loads.append(os.getloadavg()[0])
                    runs.setdefault(page, []).append(lighthouse(url + page.lstrip("/")))
                    print(f"run {run + 1}/{RUNS} {page}", {k: v for k, v in runs[page][-1].items() if k != "misses"},
                          flush=True)
    results = {page: summary(page_runs) for page, page_runs in runs.items()}
    anchor = summary(anchor_runs)
    report = table(results, anchor, builds, anchor_build_s, loads)
    print(report)
    write_block(START, END, report)
    for page, row in results.items():
        if TARGETS.misses(row, anchor):
            print(f"MISSED {page}: {'; '.join(TARGETS.misses(row, anchor))}; Lighthouse: {row['misses']}")


if __name__ == "__main__":
    main()
