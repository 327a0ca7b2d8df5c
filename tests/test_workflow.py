"""The GitHub Actions workflow tests with `.ci/run`, the one CI script, and publishes from main only."""

import re

import yaml

from project import ROOT

WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "site.yml").read_text())


def runs(job):
    return [step["run"] for step in WORKFLOW["jobs"][job]["steps"] if "run" in step]


def test_runs_on_pushes_and_pull_requests():
    triggers = WORKFLOW.get("on", WORKFLOW.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)


def test_tests_with_the_ci_script_alone():
    assert runs("test") == ["bash .ci/run"], "the workflow's test job should call .ci/run and nothing else"


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


def test_the_install_command_alone_gets_the_cpu_build_of_torch():
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements, (
        "requirements.txt lost torch's CPU index: relock with the command in requirements.in"
    )
    assert "torch==2.13.0" in requirements, "pin torch without a local version, so the CPU index and PyPI both match"
    assert "PIP_RETRIES=0" in (ROOT / ".ci" / "run").read_text(), "CI here cannot reach that index: fail over at once"


def test_the_published_site_knows_its_repository():
    """mkdocs.yml's extra.repository comes from REPO_URL: the source, issue and Colab links (test_page_links.py)."""
    build = next(step for step in WORKFLOW["jobs"]["deploy"]["steps"] if "mkdocs build" in step.get("run", ""))
    assert build["env"]["REPO_URL"] == "${{ github.server_url }}/${{ github.repository }}"
    assert build["env"]["REPO_BRANCH"] == "${{ github.ref_name }}"
