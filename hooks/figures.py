"""Draw the figures from snippets/figure_*.py while the site builds: no image file is committed.

Each script defines draw() -> matplotlib Figure; a page shows it as ![alt text](figures/<name>.svg).
"""

import importlib.util
import io
from pathlib import Path

import matplotlib
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).parent.parent
PREFIX = "figure_"
# A fixed salt and no date: the same commit gives byte-identical figures. Text stays text, in the page's font.
SVG_SETTINGS = {"svg.hashsalt": "is-batch-norm-linear", "svg.fonttype": "none"}


def svg(script: Path) -> str:
    spec = importlib.util.spec_from_file_location(script.stem, script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    buffer = io.StringIO()
    with matplotlib.rc_context(SVG_SETTINGS):
        module.draw().savefig(buffer, format="svg", bbox_inches="tight", transparent=True, metadata={"Date": None})
    return buffer.getvalue()


def on_files(files, config):
    for script in sorted((ROOT / "snippets").glob(f"{PREFIX}*.py")):
        try:
            content = svg(script)
        except Exception as error:
            raise PluginError(f"{script.relative_to(ROOT)}: drawing the figure failed: {error!r}") from error
        files.append(File.generated(config, f"figures/{script.stem.removeprefix(PREFIX)}.svg", content=content))
    return files
