"""Time the test suite's two layers against their targets, and write the figures into README.md.

    python benchmarks/suite.py          # the fast layer, then the whole suite; about 6 minutes on 2 cores

Each run is a new `pytest` process in the repository root, with the cache off so that no run is shortened
by an earlier one. Wall time is what a writer waits; CPU is that of pytest and the processes it waited for
(fork servers, builds), which on a busy machine says more than the wall time. Measure when nothing else runs.
"""

import datetime
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent
START, END = "<!-- suite:start -->", "<!-- suite:end -->"
LAYERS = {  # name: (pytest arguments, target wall seconds)
    'fast layer, `pytest -m "not slow"`': (["-m", "not slow"], 15),
    "everything, `pytest`": ([], 60),
}


def timed(arguments: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds and pytest's last line."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments],
                            cwd=ROOT, capture_output=True, text=True)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = result.stdout.strip().splitlines()[-1]
    if result.returncode != 0:
        sys.exit(f"pytest {' '.join(arguments)} failed ({summary}); time a green suite")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, re.sub(r" in [\d.]+s.*$", "", summary.strip("= "))


def main():
    load = os.getloadavg()[0]
    rows = []
    for name, (arguments, target) in LAYERS.items():
        wall, cpu, summary = timed(arguments)
        verdict = "met" if wall <= target else f"missed (> {target} s)"
        rows.append(f"| {name} | {summary} | {wall:.0f} s | {cpu:.0f} s | {target} s | {verdict} |")
        print(rows[-1], flush=True)
    report = "\n".join([
        f"Measured {datetime.date.today()} on {platform.machine()} with {os.cpu_count()} cores (load average "
        f"{load:.1f} at the start), Python {platform.python_version()}.",
        "",
        "| Run | Tests | Wall | CPU | Target (wall) | |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
    ])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if START not in readme:
        sys.exit(f"README.md has no {START} ... {END} block to write the figures into")
    readme = re.sub(f"{START}.*?{END}", lambda _: f"{START}\n{report}\n{END}", readme, flags=re.S)
    (ROOT / "README.md").write_text(readme, encoding="utf-8")


if __name__ == "__main__":
    main()
