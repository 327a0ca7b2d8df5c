"""The doc-test plugin (`page_doctest/`) on small pages: each slip a writer can make fails its own test.

Each case runs pytest in-process on a few Markdown pages in a temporary folder (pytester), without torch, so
a case costs a fraction of a second.
"""

import textwrap

import pytest

ARGS = ["-p", "page_doctest", "--markdown-docs", "--markdown-docs-syntax=superfences"]
ARGS += ["-p", "no:cacheprovider", "-p", "no:hypothesispytest"]  # hypothesis' import would be paid per run
OUTPUT = '```{.text .no-copy title="Output"}'


def page(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def failures(recorder) -> dict[str, str]:
    """Failure report per test location ("a.md:3"), as pytest prints it."""
    return {f"{report.location[0]}:{report.location[1]}": report.longreprtext for report in recorder.getfailures()}


def md(**pages):
    return {f"{name}.md": page(text) for name, text in pages.items()}


def write(pytester, files: dict[str, str]):
    for name, text in files.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def doctest(pytester, files, *args):
    """Run the doc-test on the pages of the folder (only those: the plugin would import any .py file)."""
    write(pytester, files)
    return pytester.inline_run(*ARGS, *args, *sorted(pytester.path.glob("*.md")))


PRINTS_X = f"""
    # Page

    ```python
    print("x")
    ```

    {OUTPUT}
    SHOWN
    ```
    """


def test_each_fence_is_known_by_its_page(pytester):
    """The same fence at the same line on two pages; only the page that shows a stale output fails."""
    recorder = doctest(pytester, md(a=PRINTS_X.replace("SHOWN", "y"), b=PRINTS_X.replace("SHOWN", "x")))
    recorder.assertoutcome(passed=1, failed=1)
    assert list(failures(recorder)) == ["a.md:3"]


def test_a_fence_runs_once_even_when_it_raises_type_error(pytester):
    """The engine retries a runner on TypeError; our fences must not run twice."""
    code = 'open("runs.txt", "a").write("ran\\n")\nraise TypeError("from the fence")'
    recorder = doctest(pytester, {"once.md": f"# Page\n\n```python\n{code}\n```\n"})
    recorder.assertoutcome(failed=1)
    assert (pytester.path / "runs.txt").read_text() == "ran\n"
    assert "TypeError: from the fence" in failures(recorder)["once.md:3"]


def test_each_fence_starts_in_a_fresh_interpreter(pytester):
    """Nothing an earlier fence did (globals, imports, warning filters, modules' state) reaches a later one."""
    write(pytester, {"snippets/settings.py": "value = 1\n"})
    recorder = doctest(pytester, md(fresh=f"""
        # Page

        ```python
        import sys, warnings
        import settings
        settings.value = 2
        sys.modules["left_behind"] = sys
        warnings.simplefilter("error")
        carried = True
        ```

        ```python
        import sys, warnings
        import settings
        print(settings.value, "left_behind" in sys.modules, "carried" in globals(), warnings.filters[0][0])
        ```

        {OUTPUT}
        1 False False default
        ```
        """))
    recorder.assertoutcome(passed=2)


def test_a_warm_start_is_as_fresh_as_a_cold_one(pytester):
    """Fences that open with the same settings and imports share a server that ran that opening before it forked
    (as Keras and Flax fences do): the import is paid once, and what one fence does to the package stays there."""
    write(pytester, {"warmpkg/__init__.py": "import os\nimported_in, setting = os.getpid(), os.environ['SETTING']\n"})
    recorder = doctest(pytester, md(warm=f"""
        # Page

        ```python
        import os
        os.environ["SETTING"] = "a"
        import warmpkg
        warmpkg.changed = True
        os.environ["SETTING"] = "b"
        ```

        ```python
        import os
        os.environ["SETTING"] = "a"
        import warmpkg
        print(warmpkg.imported_in != os.getpid(), warmpkg.setting, hasattr(warmpkg, "changed"))
        ```

        {OUTPUT}
        True a False
        ```
        """))
    recorder.assertoutcome(passed=2)


@pytest.mark.parametrize(("code", "opening"), [
    ("import os\nimport torch\nimport numpy as np\nx = 1\nimport keras", ""),  # preloaded, or after the opening
    ('"""Doc."""\nimport os\nos.environ["K"] = "v"\nfrom keras import ops\nimport flax, jax.numpy',
     "import os\nos.environ['K'] = 'v'\nimport flax\nimport jax\nimport keras"),
    ("import math\nimport keras\nimport linearity\nimport jax", "import os\nimport keras"),  # project code: stop
    ("import jax\nos.environ[name] = 'v'\nimport keras", "import os\nimport jax"),  # not a constant setting
    ("import jax\nos.environ['K'] = 'v'\nimport keras", "import os\nimport jax"),  # set after an import
    ("import jax\nfrom . import keras\n", "import os\nimport jax"),
    ("import jax(", ""),
])
def test_warm_start_is_the_opening_worth_running_ahead(code, opening):
    from page_doctest.fresh_python import warm_start
    from project import ROOT
    assert warm_start(code, ["torch", "numpy", "matplotlib.pyplot"], ROOT) == opening


def test_torch_and_matplotlib_state_do_not_leak(pytester):
    """A leak as it once happened (print options), and the rest of torch's and matplotlib's global state."""
    pytester.makeini("[pytest]\nfence_preload =\n    torch\n    matplotlib.pyplot\n")
    recorder = doctest(pytester, md(torch=f"""
        # Page

        ```python
        import matplotlib
        import torch
        torch.set_printoptions(precision=1)
        torch.set_default_dtype(torch.float64)
        torch.manual_seed(0)
        matplotlib.rcParams["lines.linewidth"] = 9.0
        ```

        ```python
        import matplotlib
        import torch
        print(torch.tensor([0.123456]), torch.initial_seed() != 0)
        print(matplotlib.rcParams["lines.linewidth"])
        ```

        {OUTPUT}
        tensor([0.1235]) True
        1.5
        ```
        """))
    recorder.assertoutcome(passed=2)


def test_each_slip_fails_its_own_test_and_the_rest_run(pytester):
    """An orphan Output block, a continuation fence, a missing snippet, an unshown print; one healthy fence."""
    recorder = doctest(pytester, md(slips=f"""
        # Page

        Text, then an orphan block:

        {OUTPUT}
        1
        ```

        ```{{.python continuation}}
        x = 1
        ```

        ```python
        --8<-- "snippets/missing.py"
        ```

        ```python
        print("not shown")
        ```

        ```python
        assert 1 + 1 == 2
        ```
        """))
    recorder.assertoutcome(passed=1, failed=4)
    reports = failures(recorder)
    assert "an Output block must follow the Python fence" in reports["slips.md:5"]
    assert "the fence option 'continuation' is not supported" in reports["slips.md:9"]
    assert "cannot embed the snippet at line 14" in reports["slips.md:13"]
    assert "snippets/missing.py" in reports["slips.md:13"]
    assert "prints output that the page does not show" in reports["slips.md:17"]


def test_the_location_appears_once(pytester):
    """A report names its page and line once, at its start."""
    recorder = doctest(pytester, md(stale=PRINTS_X.replace("SHOWN", "y")))
    report = failures(recorder)["stale.md:3"]
    assert report.startswith("stale.md:3: the output shown on the page is not what the code prints.")
    assert report.count("stale.md") == 1, report
    assert "-y\n+x" in report


def test_block_form_snippets_are_refused_clearly(pytester):
    """A block of files under one --8<-- cannot be traced line by line, so it is refused."""
    write(pytester, {"snippets/one.py": "x = 1\n"})
    recorder = doctest(pytester, md(block='# Page\n\n```python\n--8<--\nsnippets/one.py\n--8<--\n```\n'))
    assert "block-form snippets (--8<-- on a line of its own) are not supported" in failures(recorder)["block.md:3"]


def test_a_traceback_names_the_snippet_file_and_line(pytester):
    write(pytester, {"snippets/broken.py": "x = 1\ny = 2\nraise RuntimeError('broken snippet')\n"})
    recorder = doctest(pytester, md(embeds='# Page\n\n```python\nimport math\n--8<-- "snippets/broken.py"\n```\n'))
    report = failures(recorder)["embeds.md:3"]
    assert 'File "snippets/broken.py", line 3 (embedded at page line 5), in <module>' in report
    assert "RuntimeError: broken snippet" in report


def test_fences_in_admonitions_and_tabs_run(pytester):
    recorder = doctest(pytester, md(nested=f"""
        # Page

        !!! note

            ```python
            1 / 0
            ```

        === "One"

            ```python
            print("fine")
            ```

            {OUTPUT}
            fine
            ```
        """))
    recorder.assertoutcome(passed=1, failed=1)
    assert "ZeroDivisionError" in failures(recorder)["nested.md:5"]


def test_a_fence_that_writes_to_stderr_fails(pytester):
    recorder = doctest(pytester, md(warns='# Page\n\n```python\nimport warnings\nwarnings.warn("careful")\n```\n'))
    assert "wrote to stderr" in failures(recorder)["warns.md:3"]


@pytest.mark.parametrize(
    "shown, printing, expected",
    [
        ("old", 'print("new")', f'```python\nprint("new")\n```\n\n{OUTPUT}\nnew\n```\n'),
        (None, 'print("new")', f'```python\nprint("new")\n```\n\n{OUTPUT}\nnew\n```\n'),
        ("old", "x = 1", "```python\nx = 1\n```\n"),
    ],
    ids=["replaced", "added", "removed"],
)
def test_update_outputs_rewrites_adds_and_removes_blocks(pytester, shown, printing, expected):
    block = f"\n{OUTPUT}\n{shown}\n```\n" if shown else ""
    write(pytester, {"page.md": f"# Page\n\n```python\n{printing}\n```\n{block}\nEnd.\n"})
    doctest(pytester, {}, "--update-outputs").assertoutcome(passed=1)
    assert (pytester.path / "page.md").read_text() == f"# Page\n\n{expected}\nEnd.\n"
    doctest(pytester, {}).assertoutcome(passed=1)
