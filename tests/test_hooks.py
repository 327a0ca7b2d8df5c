"""The build hooks' own errors, called directly: each names the page or file and says what is wrong."""

from types import SimpleNamespace

import pytest
from mkdocs.exceptions import PluginError

from project import load_hook


def page(uri="index.md", toc=()):
    return SimpleNamespace(file=SimpleNamespace(src_uri=uri), url="", toc=list(toc))


def test_a_tex_error_names_the_page_and_the_formula():
    html = r'<html><head></head><body><span class="arithmatex">\(\frac{1}{\)</span></body></html>'
    with pytest.raises(PluginError, match=r"linear\.md: KaTeX cannot typeset '\\\\frac\{1\}\{'"):
        load_hook("katex").on_post_page(html, page("linear.md"), config={})


def test_math_in_a_heading_names_the_page():
    heading = SimpleNamespace(title=r'About <span class="arithmatex">\(x^2\)</span>', children=[])
    with pytest.raises(PluginError, match=r"checker\.md: the heading .* holds math"):
        load_hook("katex").on_page_content("<h2>About</h2>", page("checker.md", [heading]), config={}, files=[])


def test_a_failing_figure_script_names_the_script(tmp_path, monkeypatch):
    figures = load_hook("figures")
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "figure_broken.py").write_text("def draw():\n    raise ValueError('bad figure')\n")
    monkeypatch.setattr(figures, "ROOT", tmp_path)
    expected = r"snippets/figure_broken\.py: drawing the figure failed: ValueError\('bad figure'\)"
    with pytest.raises(PluginError, match=expected):
        figures.on_files([], config={})
