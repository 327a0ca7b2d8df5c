"""Time the writer's loop and the test suite's two layers against their targets; write the figures into
benchmarks/README.md.

    python -m benchmarks.suite                  # from the repository root; about 10 minutes on 2 cores
    python -m benchmarks.suite docs/linear.md   # the writer's loop on these pages only; prints, writes nothing

The writer's loop is `pytest docs/<page>.md`, timed for every Markdown page of the nav: the table shows the
slowest pages and the median, and a line lists every page's time (what each page costs). Then the fast
layer, `pytest -m "not slow"`, and the whole suite. Each run is a new `pytest` process in the repository
root, with the cache off so that no run is shortened by an earlier one. Wall time is what a writer waits;
CPU is that of pytest and the processes it waited for (fork servers, builds), which on a busy machine says
more than the wall time. The targets hold on an idle machine: measure when nothing else runs.
"""

import argparse
import datetime
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from project import MARKDOWN_PAGES, ROOT

README = ROOT / "benchmarks" / "README.md"
START, END = "<!-- suite:start -->", "<!-- suite:end -->"
PAGE_TARGET = 5  # wall seconds of `pytest docs/<page>.md`, for every page
LAYERS = {  # name: (pytest arguments, target wall seconds)
    'fast layer, `pytest -m "not slow"`': (["-m", "not slow"], 60),
    "everything, `pytest`": ([], 300),
}
SLOWEST = 3  # pages shown in the table, besides the median
NO_TESTS = 5  # pytest's exit status when a page has no fence to run: still a loop the writer waits for


def timed(arguments: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds and pytest's last line, without its time."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments],
                            cwd=ROOT, capture_output=True, text=True)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = (result.stdout.strip().splitlines() or ["no output"])[-1]
    if result.returncode not in (0, NO_TESTS):
        sys.exit(f"pytest {' '.join(arguments)} failed ({summary}); time a green suite\n{result.stdout[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, re.sub(r" in [\d.]+s.*$", "", summary.strip("= "))


def verdict(wall: float, target: float) -> str:
    return "met" if wall <= target else f"missed (> {target} s)"


def row(name: str, summary: str, wall: float, cpu: float, target: float, outcome: str) -> str:
    line = f"| {name} | {summary} | {wall:.1f} s | {cpu:.1f} s | {target} s | {outcome} |"
    print(line, flush=True)
    return line


def writer_loop(pages: list[Path]) -> tuple[list[str], str]:
    """Table rows for the slowest pages and the median, and a line with every page's time, slowest first."""
    times = {}
    for page in pages:
        wall, cpu, summary = timed([str(page.relative_to(ROOT))])
        times[page] = wall, cpu, summary
        print(f"{page.relative_to(ROOT)}: {wall:.1f} s wall, {cpu:.1f} s CPU, {summary}", flush=True)
    ranked = sorted(times, key=lambda page: times[page][0], reverse=True)
    rows = [row(f"`pytest {page.relative_to(ROOT).as_posix()}`" + (" (the slowest page)" if rank == 0 else ""),
                times[page][2], times[page][0], times[page][1], PAGE_TARGET, verdict(times[page][0], PAGE_TARGET))
            for rank, page in enumerate(ranked[:SLOWEST])]
    within = sum(times[page][0] <= PAGE_TARGET for page in pages)
    median_wall = statistics.median(wall for wall, _, _ in times.values())
    median_cpu = statistics.median(cpu for _, cpu, _ in times.values())
    rows.append(row(f"`pytest docs/<page>.md`, median of {len(pages)} pages", "—", median_wall, median_cpu,
                    PAGE_TARGET, f"{within} of {len(pages)} pages within it"))
    every = ", ".join(f"`{page.name}` {times[page][0]:.1f} s" for page in ranked)
    return rows, f"Each page's `pytest docs/<page>.md`, slowest first (wall): {every}."


def write_block(start: str, end: str, report: str):
    """Rewrite a script's block of benchmarks/README.md (site.py's too); a missing block stops the script."""
    readme = README.read_text(encoding="utf-8")
    if start not in readme or end not in readme:
        sys.exit(f"{README.relative_to(ROOT)} has no {start} ... {end} block to write the figures into")
    README.write_text(re.sub(f"{start}.*?{end}", lambda _: f"{start}\n{report}\n{end}", readme, flags=re.S),
                      encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("pages", nargs="*", type=Path,
                        help="time the writer's loop on these pages only, print it and write nothing")
    pages = [ROOT / page for page in parser.parse_args().pages]  # as given from the root, or absolute
    unknown = [str(page) for page in pages if page not in MARKDOWN_PAGES]
    if unknown:
        sys.exit(f"not a Markdown page of mkdocs.yml's nav: {', '.join(unknown)}")
    load = os.getloadavg()[0]
    rows, every = writer_loop(pages or MARKDOWN_PAGES)
    if pages:  # a partial run must not replace the figures of a whole one
        print(every)
        return
    for name, (arguments, target) in LAYERS.items():
        wall, cpu, summary = timed(arguments)
        rows.append(row(name, summary, wall, cpu, target, verdict(wall, target)))
    write_block(START, END, "\n".join([
        f"Measured {datetime.date.today()} on {platform.machine()} with {os.cpu_count()} cores (load average "
        f"{load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end), Python {platform.python_version()}.",
        "",
        "| Run | Tests | Wall | CPU | Target (wall) | |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        every,
    ]))


if __name__ == "__main__":
    main()
