"""Every file in snippets/ runs as a script on its own, and every one is embedded in some page."""

import re

import pytest

from project import MARKDOWN_PAGES, ROOT

SNIPPETS = sorted((ROOT / "snippets").glob("*.py"))
EMBED = re.compile(r"""-+8<-+[ \t]+["']([^"':]+)""")  # the path of a pymdownx.snippets line, without :section


@pytest.fixture(scope="module")
def script_runs(fresh_python):
    """Every script started at once on the doc-test's fork servers: `import torch` is paid once per core."""
    return {snippet: fresh_python.submit(snippet.read_text(), str(snippet), script=True) for snippet in SNIPPETS}


def test_there_are_snippets():
    assert SNIPPETS, "snippets/ holds no .py file"


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda path: path.name)
def test_snippet_runs_as_a_script(snippet, script_runs):
    """As `python snippets/<name>.py` in a new interpreter."""
    result = script_runs[snippet].result()
    name = snippet.relative_to(ROOT)
    assert result.error is None, f"python {name} failed:\n{result.traceback()}"
    assert not result.stderr, f"python {name} wrote to stderr:\n{result.stderr}"
    assert result.stdout.strip(), f"python {name} printed nothing"


def test_every_snippet_is_embedded_in_a_page():
    embedded = {ROOT / path for page in MARKDOWN_PAGES for path in EMBED.findall(page.read_text())}
    orphans = [str(snippet.relative_to(ROOT)) for snippet in SNIPPETS if snippet not in embedded]
    assert not orphans, f"not embedded in any page of docs/ (readers never see them): {orphans}"
