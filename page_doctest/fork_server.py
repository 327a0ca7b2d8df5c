"""A warm Python that forks a fresh child for each piece of code it is sent: the doc-test's interpreter.

Started by `fresh_python.FreshPython` as `PYTHONPATH=snippets python page_doctest/fork_server.py MODULE... [--prelude
CODE]` in the repository root. It imports the slow modules once (torch), runs CODE (the opening `os.environ`
settings and imports shared by the code it serves), then never runs anything itself, so every child starts
from the state of a new interpreter that has just done the same. Requests and replies are one JSON
object per line on stdin and stdout.

multiprocessing's own forkserver is not used: its children import the parent's `__main__` (pytest) and take
the parent's sys.path, so they would not start like a reader's interpreter.
"""

import json
import os
import signal
import sys
import tempfile
import traceback
import types


def reseed():
    """A forked child shares the server's random state; a new interpreter seeds from the OS instead."""
    if "torch" in sys.modules:
        sys.modules["torch"].seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    # Python's own `random` is reseeded by os.fork itself.


def run(request: dict) -> dict:
    """In the child: run the request's code as `__main__`, capturing fds 1 and 2; report what happened."""
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__  # the server had swapped them
    signal.alarm(request["timeout"])  # SIGALRM ends the child; the server reports the timeout
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # no input: code that waits for a reader's input fails instead of hanging
    captured = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]
    os.dup2(captured[0].fileno(), 1)
    os.dup2(captured[1].fileno(), 2)
    reseed()
    error = None
    try:
        if request["kind"] == "script":  # as `python <path>`: its folder first on sys.path
            sys.path[0] = os.path.dirname(os.path.abspath(request["filename"]))
            sys.argv = [request["filename"]]
        main = types.ModuleType("__main__")
        main.__dict__["__builtins__"] = __builtins__
        if request["kind"] == "script":
            main.__file__ = request["filename"]
        sys.modules["__main__"] = main
        exec(compile(request["code"], request["filename"], "exec", dont_inherit=True), main.__dict__)
    except SystemExit as exit_request:
        if exit_request.code not in (0, None):
            error = {"frames": [], "message": f"SystemExit: {exit_request.code}"}
    except BaseException as exception:  # noqa: BLE001 - everything the code raises is its result
        frames = traceback.extract_tb(exception.__traceback__)[1:]  # [0] is the exec above
        error = {
            "frames": [[frame.filename, frame.lineno, frame.name] for frame in frames],
            "message": "".join(traceback.format_exception_only(exception)).rstrip("\n"),
        }
    sys.stdout.flush()
    sys.stderr.flush()
    printed = []
    for file in captured:
        file.seek(0)
        printed.append(file.read().decode("utf-8", errors="replace"))
    return {"stdout": printed[0], "stderr": printed[1], "error": error}


def failure(message: str) -> dict:
    return {"stdout": "", "stderr": "", "error": {"frames": [], "message": message}}


def serve():
    replies = sys.stdout
    sys.stdout = sys.stderr  # nothing printed by mistake may corrupt the replies
    for line in sys.stdin:
        request = json.loads(line)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            try:
                reply = run(request)
            except BaseException as exception:  # noqa: BLE001 - the server must get an answer
                reply = failure(repr(exception))
            with os.fdopen(write_end, "w", encoding="utf-8") as pipe:
                json.dump(reply, pipe)
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, encoding="utf-8") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        if data:
            reply = json.loads(data)
        elif os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM:
            reply = failure(f"timed out after {request['timeout']} s")
        else:
            code = os.waitstatus_to_exitcode(status)
            reply = failure(f"the process ended with exit code {code}")
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":  # pytest-markdown-docs imports every module under tests/ to read its docstrings
    sys.path[0] = ""  # the path of `python` started in the repository root, not of this script's folder
    modules, prelude = sys.argv[1:], ""
    if "--prelude" in modules:
        at = modules.index("--prelude")
        modules, prelude = modules[:at], modules[at + 1]
    for preloaded in modules:
        __import__(preloaded)
    exec(prelude, {"__name__": "__prelude__"})  # settings and imports the code would run first (warm_start)
    serve()
