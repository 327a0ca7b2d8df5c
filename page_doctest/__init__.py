"""The doc-test: every Python fence in docs/ runs as a reader would run it, and prints what the page shows.

pytest-markdown-docs collects the fences; this plugin, through its two documented hooks, makes that faithful
to the rendered page:

- `pytest_markdown_docs_markdown_it`: fences inside admonitions, details and tabs are collected like any
  other; a `--8<--` line is expanded by pymdownx.snippets, configured as in mkdocs.yml; each fence is
  recorded under its page and line, with the "Output" block that follows it; an authoring slip (an orphan
  Output block, a `continuation` fence, a missing snippet) becomes a failure of that one test;
- `pytest_markdown_docs_globals`: the body each test executes is one call that runs the fence in a fresh
  interpreter (`page_doctest/fresh_python.py`), compares what it printed with the Output block, and raises `FenceFailed`
  with a report that names the page line and, for embedded code, the snippet file and line.

`pytest --update-outputs` rewrites the Output blocks from a real run (adding or removing blocks as needed).
"""

import difflib
import linecache
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import markdown
import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from pymdownx.snippets import SnippetMissingError

from page_doctest.fresh_python import FreshPythonPool
from project import read_config

PYTHON = {"py", "python", "python3"}
CONTAINER = re.compile(r"(?:!!!|\?\?\?\+?|===)(?:\s|$)")  # admonition, details, content tab
FENCE_MARK = re.compile(r"(`{3,}|~{3,})")
OUTPUT_INFO = re.compile(r"""^\{?\.?text\b.*\btitle=["']Output["']""")
OUTPUT_FENCE = '```{.text .no-copy title="Output"}'
UNSUPPORTED_OPTIONS = re.compile(r"\b(continuation|fixture:\S+|runner:\S+|retry:\S+)")
DEFAULT_SNIPPETS = {"base_path": ["."], "check_paths": True}
TIMEOUT = 300  # seconds a fence may run


class FenceFailed(AssertionError):
    """A fence raised, wrote to stderr, or printed something other than the page shows; the message says which."""


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
    page: Path  # absolute
    line: int  # 1-based page line of the opening fence
    code: str = ""
    lines: list[Line] = field(default_factory=list)
    output: ShownOutput | None = None
    close: int = 0  # 0-based page line of the closing fence
    problem: str | None = None  # an authoring slip, reported when the test runs

    def where(self, root: Path) -> str:
        return f"{display(self.page, root)}:{self.line}"


def display(path: Path | str, root: Path) -> str:
    path = Path(path)
    return path.relative_to(root).as_posix() if path.is_absolute() and path.is_relative_to(root) else str(path)


def pytest_addoption(parser):
    parser.addoption(
        "--update-outputs",
        action="store_true",
        help="rewrite each 'Output' block shown on a page with what its code prints now",
    )
    # Not doctest_*: pytest's own doctest options are named so, and these are not for it.
    parser.addini("fence_preload", type="linelist", default=[], help="modules the fresh interpreters find imported")
    parser.addini("fence_workers", default=str(min(4, os.cpu_count() or 1)), help="fences run at once")


def pytest_configure(config):
    # A process per core: more than one thread each makes torch 5 to 20 times slower on small tensors (measured).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    config.stash[DOCTEST] = plugin = DocTest(config)
    config.pluginmanager.register(plugin, "page_doctest_session")


DOCTEST = pytest.StashKey["DocTest"]()


@pytest.fixture(scope="session")
def executed_fences(pytestconfig) -> Counter:
    """Fences that ran and passed in this session, per page (absolute path)."""
    return pytestconfig.stash[DOCTEST].executed


@pytest.fixture(scope="session")
def fresh_python(pytestconfig) -> FreshPythonPool:
    """The doc-test's fresh interpreters, for other tests that run code as a reader would."""
    return pytestconfig.stash[DOCTEST].python()


def extension_options(mkdocs_yml: Path, name: str) -> dict:
    """The options mkdocs.yml gives a Markdown extension; mkdocs' own loader would also load every plugin (1.3 s)."""
    extensions = read_config(mkdocs_yml).get("markdown_extensions")
    if isinstance(extensions, list):  # MkDocs takes a list of names and {name: options}, or one mapping
        extensions = {k: v for entry in extensions if isinstance(entry, dict) for k, v in entry.items()}
    return (extensions or {}).get(name) or {}


def fence_language(info: str) -> str:
    """The language a fence's info string names: `python`, `py`, `{.py title="x"}` -> python, py; "" for none."""
    info = info.strip()
    return info.strip("{}").split()[0].lstrip(".") if info.strip("{} ") else ""


def markdown_parser() -> MarkdownIt:
    """How the doc-test reads a page: CommonMark, with the bodies of admonitions, details and tabs lifted."""
    md = MarkdownIt("commonmark")
    lift = lambda state: setattr(state, "src", lift_containers(state.src))  # noqa: E731 - a one-line rule
    md.core.ruler.before("block", "lift_containers", lift)
    return md


def fences(text: str) -> list[Token]:
    """Every fenced block of a page as the doc-test finds it; `token.map` holds its 0-based page lines."""
    return [token for token in markdown_parser().parse(text) if token.type == "fence"]


def python_fences(text: str) -> list[Token]:
    """The fences the doc-test runs (and those marked `notest`): all that show Python to a reader."""
    return [token for token in fences(text) if fence_language(token.info) in PYTHON]


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


class DocTest:
    """The state of one session's doc-test, kept on `config.stash`; its methods are pytest hooks."""

    def __init__(self, config):
        self.config = config
        self.root = config.rootpath
        self.page: Path | None = None  # the file being collected: markdown-it's parse is not told
        self.fences: dict[tuple[str, int], Fence] = {}
        self.executed: Counter = Counter()
        self.rewrites: dict[Path, list[tuple[Fence, str]]] = {}
        self.started: dict[tuple[str, int], object] = {}  # key -> Future of its run
        self._python: FreshPythonPool | None = None
        self._snippets = None

    # --- collection -------------------------------------------------------------------------------

    def pytest_collectstart(self, collector):
        if isinstance(collector, pytest.File):
            self.page = collector.path

    @pytest.hookimpl(tryfirst=True)
    def pytest_markdown_docs_markdown_it(self):
        md = markdown_parser()
        md.core.ruler.after("block", "record_fences", self.record_fences)
        return md

    def snippet_preprocessor(self):
        """pymdownx.snippets with the options of mkdocs.yml, base paths resolved from the project root."""
        if self._snippets is None:
            options = dict(DEFAULT_SNIPPETS)
            if (self.root / "mkdocs.yml").exists():
                options |= extension_options(self.root / "mkdocs.yml", "pymdownx.snippets")
            options["base_path"] = [str(self.root / base) for base in options["base_path"]]
            md = markdown.Markdown(extensions=["pymdownx.snippets"], extension_configs={"pymdownx.snippets": options})
            self._snippets = md.preprocessors["snippet"]
        return self._snippets

    def record_fences(self, state):
        """Core rule: record each Python fence under its page and line; the test will run it through a stub."""
        tokens = state.tokens
        for i, token in enumerate(tokens):
            if token.type != "fence":
                continue
            info = token.info.strip()
            lang = fence_language(info)
            fence = Fence(self.page, token.map[0] + 1, close=token.map[1] - 1)
            if OUTPUT_INFO.match(info):
                before = tokens[i - 1] if i else None
                if before is None or before.type != "fence" or before.meta.get("lang") not in PYTHON:
                    fence.problem = (
                        "an Output block must follow the Python fence whose output it shows, directly; "
                        "move it under that fence or delete it"
                    )
                    token.info = "python"  # so that the slip fails a test of its own
                    self.stub(token, fence)
                continue
            token.meta["lang"] = lang
            if lang not in PYTHON or "notest" in info:
                continue
            if option := UNSUPPORTED_OPTIONS.search(info):
                token.info = info.replace(option.group(1), "")  # the engine must not act on it either
                fence.problem = (
                    f"the fence option '{option.group(1)}' is not supported: a fence runs alone, as a reader "
                    "would paste it into a fresh interpreter; make it self-contained"
                )
            else:
                self.expand(token.content, fence)
            after = tokens[i + 1] if i + 1 < len(tokens) else None
            if after is not None and after.type == "fence" and OUTPUT_INFO.match(after.info.strip()):
                fence.output = ShownOutput(after.content, after.map[0] + 1, after.map[1] - 1)
            self.stub(token, fence)

    def stub(self, token, fence: Fence):
        self.fences[(str(fence.page), fence.line)] = fence
        token.content = f"__run_fence__({str(fence.page)!r}, {fence.line})\n"

    def expand(self, content: str, fence: Fence):
        """Expand the snippet lines of one fence body, remembering where each resulting line comes from."""
        preprocessor = self.snippet_preprocessor()
        body = content.rstrip("\n").split("\n")
        markers = [preprocessor.RE_ALL_SNIPPETS.match(line) for line in body]
        if any(marker and marker["block_marker"] for marker in markers):
            fence.problem = (
                "block-form snippets (--8<-- on a line of its own) are not supported: the doc-test could not "
                'say which file a failing line came from; embed each file with its own --8<-- "file" line'
            )
            return
        code, lines = [], []
        for offset, (line, marker) in enumerate(zip(body, markers, strict=True)):
            page_line = fence.line + 1 + offset
            try:
                embedded = preprocessor.run([line])
            except SnippetMissingError as error:  # it names the path or section; the report adds the page
                fence.problem = f"cannot embed the snippet at line {page_line}: {error}"
                return
            if marker and marker.group("snippet") and not marker.group("escape"):
                path = self.root / preprocessor.parse_snippet_target(marker.group("snippet")[1:-1])["path"]
                lines += [Line(path, number, page_line) for number in locate(embedded, path)]
            else:
                lines += [Line(None, page_line, page_line) for _ in embedded]
            code += embedded
        fence.code, fence.lines = "\n".join(code) + "\n", lines

    # --- running ----------------------------------------------------------------------------------

    def pytest_markdown_docs_globals(self):
        return {"__run_fence__": self.run_fence}

    def python(self) -> FreshPythonPool:
        if self._python is None:
            preload, workers = self.config.getini("fence_preload"), int(self.config.getini("fence_workers"))
            self._python = FreshPythonPool(preload, self.root, workers)
        return self._python

    def pytest_collection_finish(self, session):
        """Start every selected fence now: they run in the background while the other tests do."""
        if session.config.option.collectonly:
            return
        keys = [(str(item.path), item.start_line) for item in session.items if "markdown-docs" in item.keywords]
        for fence in [self.fences[key] for key in keys if key in self.fences]:
            if not fence.problem:
                self.start(fence)

    def start(self, fence: Fence):
        """Run the fence in the background; fences are independent, so they run on every core at once."""
        padded = "\n" * fence.line + fence.code  # so that frame line numbers are page lines
        key = (str(fence.page), fence.line)
        self.started[key] = self.python().submit(padded, display(fence.page, self.root), timeout=TIMEOUT)

    def run_fence(self, page: str, line: int):
        fence = self.fences[(page, line)]
        where = fence.where(self.root)
        if fence.problem:
            raise FenceFailed(f"{where}: {fence.problem}")
        if (page, line) not in self.started:
            self.start(fence)
        result = self.started.pop((page, line)).result()
        if result.error is not None:
            raise FenceFailed(f"{where}: the Python fence failed.\n{self.traceback(fence, result)}")
        if result.stderr:
            raise FenceFailed(f"{where}: the fence wrote to stderr, which a reader would see too:\n{result.stderr}")
        self.check_output(fence, where, result.stdout)
        self.executed[fence.page] += 1

    def traceback(self, fence: Fence, result) -> str:
        """The traceback as Python prints it, with page lines traced back to the snippet files they embed."""
        shown = ["Traceback (most recent call last):"]
        for frame in result.frames:
            index = frame.lineno - fence.line - 1  # of the line in the fence's code
            if frame.filename == display(fence.page, self.root) and 0 <= index < len(fence.lines):
                line, text = fence.lines[index], fence.code.split("\n")[index]
                where = f'File "{display(line.path or fence.page, self.root)}", line {line.number}'
                if line.path:
                    where += f" (embedded at page line {line.page_line})"
            else:
                text = linecache.getline(str(self.root / frame.filename), frame.lineno)
                where = f'File "{display(frame.filename, self.root)}", line {frame.lineno}'
            shown.append(f"  {where}, in {frame.name}\n    {text.strip()}")
        if result.stderr:
            shown.insert(0, result.stderr.rstrip("\n"))
        return "\n".join(shown + [result.error])

    def check_output(self, fence: Fence, where: str, printed: str):
        if normalize(printed) == normalize(fence.output.text if fence.output else ""):
            return
        if self.config.getoption("update_outputs"):
            self.rewrites.setdefault(fence.page, []).append((fence, printed))
            return
        if fence.output is None:
            raise FenceFailed(
                f"{where}: this fence prints output that the page does not show. "
                "Run `pytest --update-outputs` to add an Output block under it.\n"
                f"It printed:\n{printed}"
            )
        if not printed.strip():
            raise FenceFailed(
                f"{where}: this fence prints nothing, but the page shows an Output block under it. "
                "Run `pytest --update-outputs` to remove the block."
            )
        diff = difflib.unified_diff(
            normalize(fence.output.text).split("\n"),
            normalize(printed).split("\n"),
            f"shown on the page (line {fence.output.first + 1})",
            "printed by the code now",
            lineterm="",
        )
        raise FenceFailed(
            f"{where}: the output shown on the page is not what the code prints.\n"
            "If the change is deliberate, refresh it with `pytest --update-outputs`.\n" + "\n".join(diff)
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if call.excinfo is not None and isinstance(call.excinfo.value, FenceFailed):
            report.longrepr = str(call.excinfo.value)  # the plugin's own report would show the stub
        return report

    # --- end of session ---------------------------------------------------------------------------

    def pytest_sessionfinish(self, session):
        if self._python is not None:
            self._python.close()
        for page, rewrites in self.rewrites.items():
            lines = page.read_text(encoding="utf-8").split("\n")
            for fence, printed in sorted(rewrites, key=lambda rewrite: -rewrite[0].line):
                rewrite_output(lines, fence, printed)
            page.write_text("\n".join(lines), encoding="utf-8")
            print(f"\nupdated {len(rewrites)} output block(s) in {display(page, self.root)}")

    def pytest_terminal_summary(self, terminalreporter):
        if self.executed:
            terminalreporter.write_line(
                f"doc-test: {sum(self.executed.values())} Python fences executed on {len(self.executed)} pages, "
                "outputs checked"
            )


def normalize(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n"))


def rewrite_output(lines: list[str], fence: Fence, printed: str):
    """Show `printed` under `fence` in the page's `lines`: replace, add or remove its Output block."""
    opening = lines[fence.line - 1]
    indent = opening[: len(opening) - len(opening.lstrip(" "))]
    body = [indent + line if line else "" for line in normalize(printed).split("\n")]
    shown = fence.output
    if shown is not None and printed.strip():
        lines[shown.first : shown.end] = body
    elif shown is not None:  # the fence stopped printing: no empty box on the page
        start = shown.first - 1
        if start > 0 and not lines[start - 1].strip():
            start -= 1
        del lines[start : shown.end + 1]
    else:
        lines[fence.close + 1 : fence.close + 1] = ["", indent + OUTPUT_FENCE, *body, indent + "```"]
