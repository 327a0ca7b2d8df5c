"""Run code as if in a new `python` started in the repository root, with snippets/ on its path.

The import of torch is paid once, by a warm server (`fork_server.py`) that forks a child per request:
the child shares nothing with earlier code (print options, default dtype, seeds, warning filters,
imported project modules, matplotlib settings), because nothing ever ran in its parent.

Code that opens by setting `os.environ` and importing a heavy package (Keras, JAX) goes to a server that
ran that opening itself before its first fork (`warm_start`): the import is paid once per server, and the
child starts where the code's own first lines would have brought a new interpreter.
"""

import ast
import json
import os
import queue
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

SERVER = Path(__file__).with_name("fork_server.py")


@dataclass(frozen=True)
class Frame:
    filename: str
    lineno: int
    name: str


@dataclass(frozen=True)
class Result:
    stdout: str
    stderr: str
    frames: tuple[Frame, ...] = ()  # the traceback, innermost last, when the code raised
    error: str | None = None  # the exception as Python prints its last line(s); None when it ran through

    def traceback(self) -> str:
        """What Python would have printed on stderr, traceback included."""
        frames = [f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}' for frame in self.frames]
        return "\n".join([self.stderr.rstrip("\n"), "Traceback (most recent call last):", *frames, self.error or ""])


def warm_start(code: str, preload, root: Path) -> str:
    """The opening of `code` that a warm server may run ahead for it, rewritten as code; "" if none is worth it.

    The opening is the leading run of imports and of `os.environ[...] = "..."` settings made before any
    package is imported (a setting after one could change what that import set up). It is worth running
    ahead when it imports an installed package that `preload` lacks; the standard library and the project's
    own modules (in snippets/) are left to the code itself. Code with the same settings and packages shares
    one server, whatever else it imports.
    """
    try:
        statements = ast.parse(code).body
    except SyntaxError:
        return ""  # the run itself reports it
    settings, packages = [], []
    preloaded = {module.split(".")[0] for module in preload}
    for statement in statements:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # a docstring
        if isinstance(statement, ast.Import):
            names = [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom) and statement.level == 0:
            names = [statement.module]
        elif is_environ_setting(statement) and not packages:  # after a package's import it may change its state
            settings.append(ast.unparse(statement))
            continue
        else:
            break
        tops = [name.split(".")[0] for name in names]
        if any(is_project_module(top, root) for top in tops):
            break  # importing it runs project code, whose output and state belong to the child
        packages += [top for top in tops if top not in preloaded and top not in sys.stdlib_module_names]
    packages = sorted(set(packages))  # one server for the same packages, whichever order the code names them
    return "\n".join(["import os", *settings, *(f"import {package}" for package in packages)]) if packages else ""


def is_environ_setting(statement: ast.stmt) -> bool:
    """`os.environ["NAME"] = "value"`, both constants."""
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
        return False
    target, value = statement.targets[0], statement.value
    return (
        isinstance(target, ast.Subscript) and ast.unparse(target.value) == "os.environ"
        and isinstance(target.slice, ast.Constant) and isinstance(value, ast.Constant)
        and isinstance(target.slice.value, str) and isinstance(value.value, str)
    )


def is_project_module(name: str, root: Path) -> bool:
    return (root / "snippets" / f"{name}.py").exists() or (root / "snippets" / name).is_dir()


class FreshPython:
    """A client of one fork server; start it with `preload`, the modules every run should find imported, and
    `prelude`, code the server runs once before its first fork (see `warm_start`)."""

    def __init__(self, preload, root: Path, prelude: str = ""):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "snippets"), os.environ.get("PYTHONPATH", "")])}
        env.pop("PYTEST_CURRENT_TEST", None)
        self.server = subprocess.Popen(
            [sys.executable, str(SERVER), *preload, *(["--prelude", prelude] if prelude else [])], cwd=root, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
        )
        self.prelude = prelude

    def run(self, code: str, filename: str, *, script: bool = False, timeout: int = 300) -> Result:
        """Run `code` as `__main__` (compiled as `filename`); a script runs as `python filename` would."""
        request = {"code": code, "filename": filename, "kind": "script" if script else "code", "timeout": timeout}
        self.server.stdin.write(json.dumps(request) + "\n")
        self.server.stdin.flush()
        line = self.server.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server ({SERVER.name}) stopped: exit code {self.server.wait()}")
        reply = json.loads(line)
        error = reply["error"] or {}
        frames = tuple(Frame(*frame) for frame in error.get("frames", ()))
        return Result(reply["stdout"], reply["stderr"], frames, error.get("message"))

    def close(self):
        self.server.stdin.close()  # the server ends when its input does
        self.server.wait(timeout=30)
        self.server.stdout.close()


class FreshPythonPool:
    """Fork servers started on demand: up to `workers` plain ones, so that independent runs use every core,
    and one for each warm start that some code needs (its import is the cost a second one would repeat)."""

    def __init__(self, preload, root: Path, workers: int = 1):
        self.preload, self.root, self.workers = preload, root, workers
        self.idle: dict[str, queue.Queue[FreshPython]] = {}  # by warm start; "" for the plain servers
        self.started: list[FreshPython] = []
        self.lock = threading.Lock()
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="fresh-python")

    def run(self, code: str, filename: str, **options) -> Result:
        prelude = warm_start(code, self.preload, self.root)
        with self.lock:
            idle = self.idle.setdefault(prelude, queue.Queue())
            started = sum(server.prelude == prelude for server in self.started)
            if idle.empty() and started < (self.workers if prelude == "" else 1):
                self.started.append(FreshPython(self.preload, self.root, prelude))
                idle.put(self.started[-1])
        server = idle.get()
        try:
            return server.run(code, filename, **options)
        finally:
            idle.put(server)

    def submit(self, code: str, filename: str, **options) -> Future:
        return self.executor.submit(self.run, code, filename, **options)

    def close(self):
        self.executor.shutdown(cancel_futures=True)
        for server in self.started:
            server.close()

