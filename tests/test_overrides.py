"""Template overrides differ from the installed Material partial only by what they are for.

A copied partial does not follow Material's upgrades: after one, this test says what changed upstream.
"""

import difflib
from pathlib import Path

import material

from project import ROOT

MATERIAL = Path(material.__file__).parent / "templates"
# partial -> the one line ours changes, as (Material's line, ours)
INTENDED = {
    "partials/search.html": (
        '<div class="md-search" data-md-component="search" role="dialog">',
        '<div class="md-search" data-md-component="search" role="dialog" aria-label="{{ lang.t(\'search\') }}">',
    ),
}


def body(text: str) -> list[str]:
    """The template without its leading Jinja comment (Material's says "generated"; ours says why it exists)."""
    lines = text.splitlines()
    while lines and (lines[0].startswith("{#") or not lines[0].strip()):
        end = next(index for index, line in enumerate(lines) if "#}" in line)
        lines = lines[end + 1 :]
    return lines


def test_every_override_is_accounted_for():
    overridden = {path.relative_to(ROOT / "overrides").as_posix() for path in (ROOT / "overrides").rglob("*.html")}
    assert overridden - {"main.html"} == set(INTENDED), "a new override needs its intended change listed here"


def test_each_partial_differs_only_by_its_intended_change():
    for partial, (theirs, ours) in INTENDED.items():
        upstream = body((MATERIAL / partial).read_text(encoding="utf-8"))
        local = body((ROOT / "overrides" / partial).read_text(encoding="utf-8"))
        expected = [ours if line == theirs else line for line in upstream]
        assert theirs in upstream, f"Material's {partial} no longer has the line we change:\n{theirs}"
        diff = difflib.unified_diff(expected, local, f"Material's {partial} + our change", "ours", lineterm="")
        diff = "\n".join(diff)
        assert local == expected, f"overrides/{partial} has drifted from Material's; copy it again:\n{diff}"
