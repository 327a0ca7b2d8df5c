"""Make a notebook page look like the others: Material's styles, KaTeX math, nothing from another host.

mkdocs-jupyter inlines about 590 KB of JupyterLab CSS, a MathJax configuration and a script that would
import Mermaid from a CDN; this removes them and wraps the notebook's $...$ math the way arithmatex does,
so that hooks/katex.py (listed after this hook) typesets it.
"""

import json
import re

NOTEBOOK_EXTRAS = re.compile(
    r"<style[^>]*>(?:(?!</style>).)*?(?:jupyter-wrapper|jp-Mermaid|td\.linenos)(?:(?!</style>).)*</style>"
    r"|<script[^>]*>(?:(?!</script>).)*?(?:mermaid|MathJax|clipboard-copy|exports)(?:(?!</script>).)*</script>"
    r'|<script src=""> </script>',
    re.DOTALL,
)
JUPYTER_COPY = re.compile(
    r'<div class="zeroclipboard-container">.*?</clipboard-copy>\s*</div>'
    r'|<div class="clipboard-copy-txt"[^>]*>.*?</div>',
    re.DOTALL,
)
# Code and text output in the markup of Material's code blocks: the site's styles and copy button apply.
CODE = re.compile(r'<div class="highlight-ipynb hl-python"><pre>(.*?)</pre></div>', re.DOTALL)
TEXT_OUTPUT = re.compile(r'(<div class="jp-RenderedText[^"]*"[^>]*>\s*)<pre>(.*?)</pre>', re.DOTALL)
UNTOUCHED = re.compile(r"(<pre.*?</pre>|<code.*?</code>|<script.*?</script>|<style.*?</style>)", re.DOTALL)
DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
INLINE_MATH = re.compile(r"(?<![\\$])\$([^$\n]+?)\$")


def on_page_markdown(markdown, page, config, files):
    """A notebook page's metadata (its description) from the notebook's metadata["mkdocs"].

    mkdocs-jupyter reads none (danielfrg/mkdocs-jupyter#99), and a notebook has no front matter.
    """
    if page.file.src_uri.endswith(".ipynb"):
        page.meta.update(json.loads(markdown).get("metadata", {}).get("mkdocs", {}))
    return markdown


def on_post_page(output, page, config):
    if not page.file.src_uri.endswith(".ipynb"):
        return output
    output = JUPYTER_COPY.sub("", NOTEBOOK_EXTRAS.sub("", output))
    output = output.replace('<a class="anchor-link"', '<a class="headerlink"')  # Material's permalinks
    output = CODE.sub(r'<div class="language-python highlight"><pre><span></span><code>\1</code></pre></div>', output)
    text_block = r'\1<div class="language-text highlight no-copy"><pre><span></span><code>\2</code></pre></div>'
    output = TEXT_OUTPUT.sub(text_block, output)
    parts = UNTOUCHED.split(output)
    for index in range(0, len(parts), 2):  # even parts are outside code, scripts and styles
        text = DISPLAY_MATH.sub(r'<div class="arithmatex">\\[\1\\]</div>', parts[index])
        parts[index] = INLINE_MATH.sub(r'<span class="arithmatex">\\(\1\\)</span>', text)
    return "".join(parts)
