"""The deployment examples (deploy/) run commands this CLI accepts, and scale the API out
the way the README says: replicas over one shared index, one cursor secret for all."""

from __future__ import annotations

import shlex
from typing import Any

import yaml  # PyYAML comes with Ray, in the dev group

from hashtag_index.cli import make_parser
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"


def accepted(argv: list[str]) -> str:
    """The subcommand of a ``hashtag-index ...`` command line, if the parser takes it."""
    assert argv[0] == "hashtag-index", argv
    return str(make_parser().parse_args(argv[1:]).command)


def test_compose_runs_two_api_replicas_over_one_index_behind_a_proxy() -> None:
    compose: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    api, reindex, init = services["api"], services["reindex"], services["init"]
    assert api["deploy"]["replicas"] == 2
    assert accepted(api["command"]) == "serve"
    assert accepted(reindex["command"]) == "schedule"
    shell, flag, script = shlex.split(init["command"])
    assert (shell, flag) == ("sh", "-c")
    steps = [shlex.split(step.replace(">/dev/null 2>&1", "")) for step in script.split("||")]
    assert [accepted(step) for step in steps] == ["info", "build", "build"]
    index_mounts = {
        s: v for s, v in services.items() for v in v.get("volumes", []) if "index:" in v
    }
    assert set(index_mounts) == {"api", "reindex", "init"}
    assert len(set(index_mounts.values())) == 1
    assert api["environment"]["HASHTAG_INDEX_CURSOR_SECRET"]
    proxy = (DEPLOY / "nginx.conf").read_text()
    assert "server api:8000;" in proxy
    assert services["proxy"]["depends_on"] == ["api"]


def test_kubernetes_runs_three_replicas_and_the_hourly_update() -> None:
    docs = {
        d["kind"] + "/" + d["metadata"]["name"]: d
        for d in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text())
    }
    api = docs["Deployment/hashtag-index-api"]["spec"]
    assert api["replicas"] == 3
    (container,) = api["template"]["spec"]["containers"]
    assert accepted(container["args"]) == "serve"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    job = docs["CronJob/hashtag-index-reindex"]["spec"]["jobTemplate"]["spec"]["template"]
    assert accepted(job["spec"]["containers"][0]["args"]) == "update"
    init = docs["Job/hashtag-index-init"]["spec"]["template"]["spec"]["containers"][0]
    assert accepted(init["args"]) == "build"
    claims = {d["metadata"]["name"] for k, d in docs.items() if k.startswith("Persistent")}
    assert docs["PersistentVolumeClaim/hashtag-index"]["spec"]["accessModes"] == ["ReadWriteMany"]
    mounted = {
        v["persistentVolumeClaim"]["claimName"]
        for d in docs.values()
        for v in _pod(d).get("volumes", [])
    }
    assert mounted == claims


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc.get("spec", {})
    if "jobTemplate" in spec:
        spec = spec["jobTemplate"]["spec"]
    template = spec.get("template", {})
    return dict(template.get("spec", {}))


def test_the_readme_shows_the_deploy_files() -> None:
    readme = (ROOT / "README.md").read_text()
    for path in sorted(DEPLOY.iterdir()):
        assert f"deploy/{path.name}" in readme, path
