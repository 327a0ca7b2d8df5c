"""Fail the build on front matter that is not valid YAML, naming the page and the YAML error.

MkDocs reads the block between the opening `---` lines with its own pattern; when the YAML inside does
not parse it silently renders the block as Markdown (a rule and an h2 "description: ...") and the page
loses its description. This hook parses the same block and refuses the page instead.
"""

import yaml
from mkdocs.exceptions import PluginError
from mkdocs.utils.meta import YAML_RE

HOW_TO_FIX = "quote the value, or write it as a folded block: `description: >-` and the text indented below"


def front_matter_error(source: str) -> str | None:
    """What is wrong with the front matter of a Markdown source, or None if it is absent or valid."""
    match = YAML_RE.match(source)
    if not match:
        return None
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        mark, problem = getattr(error, "problem_mark", None), getattr(error, "problem", None)
        if not (mark and problem):
            return f"front matter is not valid YAML: {error}"
        line = source.splitlines()[mark.line + 1]  # + 1: the block starts after the opening `---`
        return f"front matter is not valid YAML: line {mark.line + 2}, {problem}: {line!r}"
    if not isinstance(data, dict):
        return f"front matter must be a mapping of keys to values, not {type(data).__name__}"
    return None


def on_page_markdown(markdown, page, config, files):
    if not page.file.src_uri.endswith(".md"):
        return markdown
    problem = front_matter_error(page.file.content_string)
    if problem:
        raise PluginError(f"docs/{page.file.src_uri}: {problem}\nFix: {HOW_TO_FIX}.")
    return markdown
