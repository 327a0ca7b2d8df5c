"""The doc-test: every Python fence in docs/ runs as readers see it, and every output shown is what it prints.

pytest-markdown-docs collects and runs the fences; the hooks here make it faithful to the rendered page:

- a `--8<--` line inside a fence is expanded by pymdownx.snippets, configured exactly as in mkdocs.yml;
- fences inside admonitions, collapsible details and content tabs are collected like any other;
- each fence starts from a fresh interpreter's state (a fresh namespace, torch reseeded from the OS);
- a fence titled "Output" right after a Python fence must equal what that fence prints
  (refresh after a deliberate change with `pytest --update-outputs`);
- a traceback names the page line and, for embedded code, the snippet file and line.
"""

import contextlib
import difflib
import functools
import io
import re
import sys
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import markdown
import pytest
from markdown_it import MarkdownIt
from mkdocs.config import load_config
from pymdownx.snippets import SnippetMissingError
from pytest_markdown_docs._runners import DefaultRunner, register_runner

ROOT = Path(__file__).parent
PYTHON = {"py", "python", "python3"}
CONTAINER = re.compile(r"(?:!!!|\?\?\?\+?|===)(?:\s|$)")  # admonition, details, content tab
FENCE_MARK = re.compile(r"(`{3,}|~{3,})")
OUTPUT_INFO = re.compile(r"""^\{?\.?text\b.*\btitle=["']Output["']""")


@dataclass
class Line:
    """Where a line of an executed fence comes from."""

    path: Path | None  # the snippet file it was embedded from; None for the page itself
    number: int  # 1-based line in that file
    page_line: int  # 1-based line of the page that shows it


@dataclass
class ShownOutput:
    text: str
    first: int  # 0-based page line of the first output line
    end: int  # 0-based page line of the closing fence


@dataclass
class Fence:
    lines: list[Line]
    output: ShownOutput | None


FENCES: dict[tuple[int, str], Fence] = {}  # (fence start line, executed code) -> what the runner needs
EXECUTED: Counter = Counter()  # page path -> fences that ran and passed
REWRITES: dict[Path, list[tuple[ShownOutput, str]]] = {}  # filled by --update-outputs


def pytest_addoption(parser):
    parser.addoption(
        "--update-outputs",
        action="store_true",
        help="rewrite each 'Output' block shown on a page with what its code prints now",
    )


@functools.cache
def snippet_preprocessor():
    """pymdownx.snippets with the options of mkdocs.yml, base paths resolved from the project root."""
    options = dict(load_config(str(ROOT / "mkdocs.yml"))["mdx_configs"]["pymdownx.snippets"])
    options["base_path"] = [str(ROOT / base) for base in options["base_path"]]
    md = markdown.Markdown(extensions=["pymdownx.snippets"], extension_configs={"pymdownx.snippets": options})
    return md.preprocessors["snippet"]


def lift_containers(source: str) -> str:
    """Dedent the bodies of admonitions, details and tabs, keeping every line where it is.

    CommonMark reads an indented fence as an indented code block; Python-Markdown renders it as a fence.
    """
    lines, bodies, fence = [], [], None  # bodies: indents of the open containers; fence: open fence marker
    for line in source.split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        if line.strip():
            while bodies and indent < bodies[-1]:
                bodies.pop()
        text = line[bodies[-1] :] if bodies and line.strip() else line
        stripped = text.lstrip(" ")
        if fence is None and CONTAINER.match(stripped):
            bodies.append(indent + 4)
            lines.append("")
            continue
        mark = FENCE_MARK.match(stripped)
        if mark and fence is None:
            fence = mark.group(1)
        elif mark and stripped.rstrip() == fence[0] * len(stripped.rstrip()) and len(stripped.rstrip()) >= len(fence):
            fence = None
        lines.append(text)
    return "\n".join(lines)


def locate(embedded: list[str], path: Path) -> list[int]:
    """1-based line numbers in `path` of the lines that a snippet embedded, matched in order."""
    source = path.read_text(encoding="utf-8").split("\n")
    numbers, at = [], 0
    for line in embedded:
        while at < len(source) and source[at].strip() != line.strip():
            at += 1
        numbers.append(at + 1 if at < len(source) else 0)
        at = min(at + 1, len(source))
    return numbers


def expand(content: str, first_page_line: int) -> tuple[str, list[Line]]:
    """Expand the snippet lines of one fence body, remembering where each resulting line comes from."""
    preprocessor = snippet_preprocessor()
    body = content.rstrip("\n").split("\n")
    markers = [preprocessor.RE_ALL_SNIPPETS.match(line) for line in body]
    if any(marker and marker["block_marker"] for marker in markers):
        code = preprocessor.run(body)  # block form: lines belong together; attribute them to the fence's first line
        return "\n".join(code) + "\n", [Line(None, first_page_line, first_page_line) for _ in code]
    code, lines = [], []
    for offset, (line, marker) in enumerate(zip(body, markers, strict=True)):
        page_line = first_page_line + offset
        embedded = preprocessor.run([line])
        if marker and marker.group("snippet") and not marker.group("escape"):
            path = ROOT / preprocessor.parse_snippet_target(marker.group("snippet")[1:-1])["path"]
            numbers = locate(embedded, path)
            lines += [Line(path, number, page_line) for number in numbers]
        else:
            lines += [Line(None, page_line, page_line) for _ in embedded]
        code += embedded
    return "\n".join(code) + "\n", lines


def collect_fences(state):
    """Core rule: expand snippets in Python fences and pair each with the Output fence that follows it."""
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type != "fence":
            continue
        info = token.info.strip()
        lang = info.strip("{}").split()[0].lstrip(".") if info else ""
        if OUTPUT_INFO.match(info):
            before = tokens[i - 1] if i else None
            if before is None or before.type != "fence" or before.meta.get("lang") not in PYTHON:
                raise ValueError(
                    f"line {token.map[0] + 1}: an 'Output' block must follow a Python fence directly, "
                    "so that the test can check it against what that fence prints"
                )
            continue
        token.meta["lang"] = lang
        if lang not in PYTHON:
            continue
        if "continuation" in info:
            raise ValueError(
                f"line {token.map[0] + 1}: 'continuation' fences depend on earlier code; "
                "make the fence self-contained so readers can copy it alone"
            )
        try:
            token.content, lines = expand(token.content, token.map[0] + 2)
        except SnippetMissingError as error:  # it names the path; the page line says where
            raise ValueError(f"line {token.map[0] + 1}: cannot embed the snippet: {error}") from error
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        output = None
        if after is not None and after.type == "fence" and OUTPUT_INFO.match(after.info.strip()):
            output = ShownOutput(after.content, after.map[0] + 1, after.map[1] - 1)
        FENCES[(token.map[0] + 1, token.content)] = Fence(lines, output)


@pytest.hookimpl(tryfirst=True)
def pytest_markdown_docs_markdown_it():
    md = MarkdownIt("commonmark")
    md.core.ruler.before("block", "lift_containers", lambda state: setattr(state, "src", lift_containers(state.src)))
    md.core.ruler.after("block", "collect_fences", collect_fences)
    return md


def pytest_markdown_docs_globals():
    return {"__name__": "__main__"}  # a fence runs like a script pasted into a fresh interpreter


def normalize(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n"))


class StaleOutput(AssertionError):
    pass


def fresh_interpreter():
    """Reset the process-wide state that a fresh interpreter would not share with earlier fences."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.seed()  # a fresh interpreter seeds from the OS: unseeded code gives a different output each run
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)


@register_runner(default=True)
class PageRunner(DefaultRunner):
    """Runs a fence with its stdout captured, then checks the Output block shown under it."""

    def runtest(self, test, args, *, asyncio_runner=None):
        fence = FENCES[(test.start_line, test.source[test.start_line :])]
        fresh_interpreter()
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            super().runtest(test, args, asyncio_runner=asyncio_runner)
        self.check_output(test, fence, printed.getvalue())
        EXECUTED[Path(test.source_path)] += 1

    @staticmethod
    def check_output(test, fence, printed):
        page = Path(test.source_path)
        if fence.output is None:
            if printed.strip():
                raise StaleOutput(
                    f"{page.name}:{test.start_line}: this fence prints output that the page does not show.\n"
                    'Add an empty ```{.text .no-copy title="Output"}``` block right after it and run `pytest --update-outputs`.\n'
                    f"It printed:\n{printed}"
                )
            return
        if normalize(fence.output.text) == normalize(printed):
            return
        if _CONFIG[0].getoption("update_outputs"):
            REWRITES.setdefault(page, []).append((fence.output, printed))
            return
        diff = difflib.unified_diff(
            normalize(fence.output.text).split("\n"),
            normalize(printed).split("\n"),
            f"shown on {page.name} (line {fence.output.first + 1})",
            "printed by the code now",
            lineterm="",
        )
        raise StaleOutput(
            "the output shown on the page is not what the code prints.\n"
            "If the change is deliberate, refresh it with `pytest --update-outputs`.\n" + "\n".join(diff)
        )

    def repr_failure(self, test, excinfo, style=None):
        if isinstance(excinfo.value, StaleOutput):
            return f"{Path(test.source_path).relative_to(ROOT)}:{test.start_line}: {excinfo.value}"
        fence = FENCES.get((test.start_line, test.source[test.start_line :]))
        page = Path(test.source_path)
        frames = traceback.extract_tb(excinfo.tb)
        described, inside = [], False
        for frame in frames:
            inside = inside or frame.filename == str(page)
            if not inside:
                continue  # the doc-test's own frames
            if frame.filename == str(page) and fence is not None:
                line = fence.lines[frame.lineno - test.start_line - 1]
                path = line.path or page
                where = f'File "{path.relative_to(ROOT)}", line {line.number}'
                if path != page:
                    where += f" (embedded in {page.relative_to(ROOT)} at line {line.page_line})"
                text = test.source.split("\n")[frame.lineno - 1].strip()
                described.append(f"  {where}, in {frame.name}\n    {text}")
            else:
                described.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n    {frame.line}')
        return (
            f"{page.relative_to(ROOT)}: the Python fence at line {test.start_line} failed.\n"
            "Traceback (most recent call last):\n" + "\n".join(described) + f"\n{excinfo.exconly()}"
        )


_CONFIG = []  # the runner is built by the plugin, not by pytest: it reads options from here


def pytest_configure(config):
    _CONFIG[:] = [config]
    config.addinivalue_line("markers", "after_fences: runs after every fence of docs/ has run")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("after_fences") is not None)  # stable: others keep order


def pytest_sessionfinish(session):
    for page, rewrites in REWRITES.items():
        lines = page.read_text(encoding="utf-8").split("\n")
        for shown, printed in sorted(rewrites, key=lambda rewrite: -rewrite[0].first):
            fence_line = lines[shown.first - 1]
            indent = fence_line[: len(fence_line) - len(fence_line.lstrip(" "))]
            lines[shown.first : shown.end] = [indent + line if line else "" for line in normalize(printed).split("\n")]
        page.write_text("\n".join(lines), encoding="utf-8")
        print(f"\nupdated {len(rewrites)} output block(s) in {page.relative_to(ROOT)}")


@pytest.fixture(scope="session")
def executed_fences():
    """Fences that ran and passed in this session, per page."""
    return EXECUTED


def pytest_terminal_summary(terminalreporter):
    if EXECUTED:
        terminalreporter.write_line(
            f"doc-test: {sum(EXECUTED.values())} Python fences executed on {len(EXECUTED)} pages, outputs checked"
        )
