"""docker-compose.yaml, checked by Debian's `docker-compose config` (parses, interpolates and
validates against the Compose schema without a Docker daemon), then read for the wiring the lab
depends on: a healthy PostgreSQL before ACMEEH, the demo CA read-only, nginx in front with the
proxy network trusted, certbot reaching the directory through nginx."""
from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from support.tools import required_tool

from .containerkit import DOCKER_CONFIG, ROOT


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`docker-compose config` of a copy of the lab with .env made from docker/.env.example."""
    compose = required_tool("docker-compose", "apt-get install docker-compose")
    work = tmp_path_factory.mktemp("compose")
    shutil.copy(ROOT / "docker-compose.yaml", work)
    shutil.copytree(ROOT / "docker", work / "docker")
    shutil.copy(ROOT / "docker" / ".env.example", work / ".env")
    done = subprocess.run([compose, "config"], cwd=work, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """{target: (source, read_only)} from short ("src:dst:ro") or long volume syntax."""
    out = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target, *mode = volume.split(":")
            out[target] = (source, "ro" in mode)
        else:
            out[volume["target"]] = (volume["source"], bool(volume.get("read_only")))
    return out


def published(service: dict[str, Any]) -> list[tuple[int, int]]:
    """[(host port, container port)] from short or long port syntax."""
    out = []
    for port in service.get("ports", []):
        if isinstance(port, str):
            host, _, container = port.rpartition(":")
            out.append((int(host.rpartition(":")[2]), int(container)))
        else:
            out.append((int(port["published"]), int(port["target"])))
    return out


def test_postgres_is_official_healthy_and_persistent(resolved) -> None:
    db = resolved["services"]["db"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert mounts(db)["/var/lib/postgresql/data"][0] == "pgdata"
    assert "pgdata" in resolved["volumes"]


def test_acmeeh_waits_for_a_healthy_database_and_reads_env(resolved) -> None:
    app = resolved["services"]["acmeeh"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["depends_on"]["ca-init"]["condition"] == "service_completed_successfully"
    env = app["environment"]
    assert env["ACMEEH_DB_PASSWORD"] == env["POSTGRES_PASSWORD"]
    assert env["ACMEEH_MIGRATE"] == "1"
    assert mounts(app)["/etc/acmeeh/ca"] == ("ca", True)
    assert app["read_only"] is True and app["cap_drop"] == ["ALL"]
    assert "ports" not in app, "gunicorn must not face the network directly"


def test_nginx_terminates_tls_for_the_trusted_network(resolved) -> None:
    nginx = resolved["services"]["nginx"]
    assert nginx["image"].startswith("nginx:")
    assert published(nginx) == [(8443, 8443)]
    conf_source, conf_ro = mounts(nginx)["/etc/nginx/conf.d/default.conf"]
    assert conf_source.endswith("docker/nginx.conf") and conf_ro
    env = resolved["services"]["acmeeh"]["environment"]
    subnet = resolved["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert env["ACMEEH_TRUSTED_PROXIES"] == subnet
    conf = (ROOT / "docker" / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
    for timeout in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        assert re.search(rf"^\s*{timeout}\s+\d+s;", conf, re.MULTILINE), timeout
    port = re.search(r"port: \$\{ACMEEH_PORT:-(\d+)\}", DOCKER_CONFIG.read_text())
    assert port and f"server acmeeh:{port.group(1)};" in conf


def test_certbot_goes_through_nginx_to_the_documented_url(resolved) -> None:
    certbot = resolved["services"]["certbot"]
    assert certbot["network_mode"] == "service:nginx"
    command = certbot["command"]
    url = command[command.index("--server") + 1]
    env = resolved["services"]["acmeeh"]["environment"]
    assert url == env["ACMEEH_EXTERNAL_URL"] + "/acme/directory"
    name = command[command.index("-d") + 1]
    assert name in resolved["services"]["nginx"]["networks"]["default"]["aliases"]
    assert name.endswith("." + env["ACMEEH_ALLOWED_SUFFIX"])
    readme = (ROOT / "README.md").read_text()
    assert "docker compose run --rm certbot" in readme and "docker compose up" in readme
    init = resolved["services"]["ca-init"]["command"]
    assert init[:3] == ["acmeeh", "ca", "init"] and "localhost" in init
