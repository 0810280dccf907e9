"""Run docker/entrypoint.sh as the image would, but outside a container: the same script, the
image's docker/config.yaml driven by environment variables, `acmeeh` from this checkout's venv,
the embedded PostgreSQL, and (when the kernel lets root do it) the CA folder bind-mounted
read-only in a private mount namespace, as `-v ca:/etc/acmeeh/ca:ro` would."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from support.database import ROOT, server_url
from support.server import child_env

ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
DOCKER_CONFIG = ROOT / "docker" / "config.yaml"
DOCKERFILE = ROOT / "Dockerfile"


def database_env(dbname: str) -> dict[str, str]:
    """ACMEEH_DB_* for the test server (socket directory or host), naming database `dbname`."""
    info = psycopg.conninfo.conninfo_to_dict(server_url())
    return {
        "ACMEEH_DB_HOST": str(info.get("host") or "localhost"),
        "ACMEEH_DB_PORT": str(info.get("port") or 5432),
        "ACMEEH_DB_USER": str(info.get("user") or "postgres"),
        "ACMEEH_DB_PASSWORD": str(info.get("password") or "unused-by-trust-auth"),
        "ACMEEH_DB_NAME": dbname,
        "ACMEEH_DB_SSLMODE": "disable" if str(info.get("host", "")).startswith("/") else "prefer",
    }


def container_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of the entrypoint: venv first on PATH (its `acmeeh`), src on PYTHONPATH."""
    env = child_env(extra)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")])
    env["ACMEEH_CONFIG"] = str(DOCKER_CONFIG)
    return env


def read_only_mounts_work() -> bool:
    """True when `unshare -m` + a read-only bind mount is allowed here (root on Linux)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = Path(tempfile.mkdtemp(prefix="acmeeh-ro-"))
    try:
        done = subprocess.run(["unshare", "-m", "sh", "-c", ro_mount_script(probe) + " && ! touch \"$1\"/x",
                               "sh", str(probe)], capture_output=True, timeout=20, check=False)
        return done.returncode == 0 and not (probe / "x").exists()
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def ro_mount_script(directory: Path) -> str:
    d = shlex.quote(str(directory))
    return f"mount --bind {d} {d} && mount -o remount,bind,ro {d} {d}"


def start_entrypoint(args: list[str], env: dict[str, str], log: Path, *,
                     read_only: Path | None = None) -> subprocess.Popen:
    """Popen of the entrypoint (in a new session); with `read_only`, inside `unshare -m` with
    that folder mounted read-only. No fork in between: the Popen pid becomes the server's."""
    command = [str(ENTRYPOINT), *args]
    if read_only is not None:
        command = ["unshare", "-m", "sh", "-c", ro_mount_script(read_only) + ' && exec "$@"', "sh",
                   *command]
    with open(log, "wb") as out:
        return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(predicate, what: str, process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    """Poll `predicate()` every 0.2 s until true; fail with the log if the process ends or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            raise AssertionError(f"entrypoint exited with {process.returncode} before {what}\n"
                                 f"{log.read_text(errors='replace')[-6000:]}")
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout}s\n{log.read_text(errors='replace')[-6000:]}")


def stop(process: subprocess.Popen, timeout: float = 20.0) -> int | None:
    """SIGTERM the server (what tini forwards), then SIGKILL the session if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    return process.returncode


def healthcheck_command() -> list[str]:
    """The exec-form command of the Dockerfile's HEALTHCHECK (its CMD [...] line)."""
    lines = DOCKERFILE.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("HEALTHCHECK"))
    for line in lines[start:start + 3]:
        if "CMD [" in line:
            return list(json.loads(line[line.index("["):]))
    raise AssertionError("the Dockerfile's HEALTHCHECK has no exec-form CMD")


def nginx_config(workdir: Path, *, upstream_port: int, listen_port: int, ca_dir: Path) -> Path:
    """docker/nginx.conf as the compose file mounts it, pointed at loopback and wrapped in a
    main configuration that keeps every file under `workdir`."""
    site = (ROOT / "docker" / "nginx.conf").read_text()
    replacements = {
        "server acmeeh:8000;": f"server 127.0.0.1:{upstream_port};",
        "listen 8443 ssl;": f"listen 127.0.0.1:{listen_port} ssl;",
        "/etc/acmeeh/ca/": f"{ca_dir}/",
    }
    for old, new in replacements.items():
        assert old in site, f"docker/nginx.conf no longer has {old!r}"
        site = site.replace(old, new)
    (workdir / "site.conf").write_text(site)
    temp = {name: workdir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    main = workdir / "nginx.conf"
    main.write_text(f"""
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 64; }}
http {{
    access_log {workdir}/access.log;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {workdir}/site.conf;
}}
""")
    return main
