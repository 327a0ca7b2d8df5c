"""The GitHub Actions workflow runs README's test command and publishes from main only."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).parent.parent
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "site.yml").read_text())


def readme_commands():
    """The shell commands of README's fenced bash blocks."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def runs(job):
    return [step["run"] for step in WORKFLOW["jobs"][job]["steps"] if "run" in step]


def test_runs_on_pushes_and_pull_requests():
    triggers = WORKFLOW.get("on", WORKFLOW.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)


def test_tests_as_readme_says_with_the_browser_required():
    assert "pytest" in readme_commands(), "README no longer says `pytest`"
    assert "pytest" in runs("test")
    assert "pip install -r requirements.txt" in runs("test")
    assert any("apt-get install -y chromium" in run for run in runs("test"))
    assert WORKFLOW["jobs"]["test"]["env"]["REQUIRE_BROWSER"] == "1"


def test_doctest_runs_again_on_baseline_kernels_here_and_in_ci():
    command = "ATEN_CPU_CAPABILITY=default pytest -m markdown-docs"
    assert any(command in run for run in runs("test")), "the workflow skips the baseline-kernel doc-test"
    assert command in (ROOT / ".ci" / "run").read_text(), ".ci/run skips the baseline-kernel doc-test"


def test_deploys_to_pages_from_main_after_the_tests():
    deploy = WORKFLOW["jobs"]["deploy"]
    assert deploy["needs"] == "test"
    assert "refs/heads/main" in deploy["if"] and "push" in deploy["if"]
    used = [step["uses"].split("@")[0] for step in deploy["steps"] if "uses" in step]
    assert {"actions/upload-pages-artifact", "actions/deploy-pages"} <= set(used)
    assert any("mkdocs build --strict" in run and "-q" not in run for run in runs("deploy"))


def test_every_action_is_pinned_to_a_version():
    uses = [step["uses"] for job in WORKFLOW["jobs"].values() for step in job["steps"] if "uses" in step]
    loose = [use for use in uses if not re.search(r"@(v\d+\.\d+\.\d+|[0-9a-f]{40})$", use)]
    assert uses and not loose, f"pin these to a release: {loose}"
