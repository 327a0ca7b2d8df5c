"""Run code as if in a new `python` started in the repository root, with snippets/ on its path.

The import of torch is paid once, by a warm server (`fork_server.py`) that forks a child per request:
the child shares nothing with earlier code (print options, default dtype, seeds, warning filters,
imported project modules, matplotlib settings), because nothing ever ran in its parent.
"""

import json
import os
import queue
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parent.parent
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


class FreshPython:
    """A client of one fork server; start it with `preload`, the modules every run should find imported."""

    def __init__(self, preload=(), root: Path = ROOT):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "snippets"), os.environ.get("PYTHONPATH", "")])}
        env.pop("PYTEST_CURRENT_TEST", None)
        self.server = subprocess.Popen(
            [sys.executable, str(SERVER), *preload], cwd=root, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
        )

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
    """Up to `workers` fork servers, started on demand, so that independent runs use every core."""

    def __init__(self, preload=(), root: Path = ROOT, workers: int = 1):
        self.preload, self.root, self.workers = preload, root, workers
        self.idle: queue.Queue[FreshPython] = queue.Queue()
        self.started: list[FreshPython] = []
        self.lock = threading.Lock()
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="fresh-python")

    def run(self, code: str, filename: str, **options) -> Result:
        with self.lock:
            if self.idle.empty() and len(self.started) < self.workers:
                self.started.append(FreshPython(self.preload, self.root))
                self.idle.put(self.started[-1])
        server = self.idle.get()
        try:
            return server.run(code, filename, **options)
        finally:
            self.idle.put(server)

    def submit(self, code: str, filename: str, **options) -> Future:
        return self.executor.submit(self.run, code, filename, **options)

    def close(self):
        self.executor.shutdown(cancel_futures=True)
        for server in self.started:
            server.close()

