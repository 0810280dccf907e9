"""SIGHUP: the master re-reads the file and replaces its workers, so logging.level and
metrics.enabled (like every section outside server/database/ca/challenges) take effect; changed
restart-only settings are logged and kept; an invalid file is logged and the server keeps going
with the running configuration."""
from __future__ import annotations

import signal
from collections.abc import Callable

import yaml
from opstools import get, wait_until
from support.server import RunningServer

CONNECTIONS = 5  # new connections per check: every worker gets asked


def metrics_status(server: RunningServer) -> set[int]:
    return {get(f"{server.base_url}/metrics", headers={"Connection": "close"})[0]
            for _ in range(CONNECTIONS)}


def rewrite(server: RunningServer, change: Callable[[dict], None]) -> None:
    config = yaml.safe_load(server.config_path.read_text())
    change(config)
    server.config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def test_sighup_reloads_what_it_can(start_acme_server: Callable[..., RunningServer]) -> None:
    server = start_acme_server({"logging": {"level": "INFO"}}, workers=2)
    assert metrics_status(server) == {200}
    assert '"level": "DEBUG"' not in server.log_tail() and " DEBUG " not in server.log_tail()

    def reloadable_and_not(config: dict) -> None:
        config["metrics"] = {"enabled": False}
        config["logging"]["level"] = "DEBUG"
        config["database"]["max_connections"] = 7  # needs a restart
    rewrite(server, reloadable_and_not)
    server.process.send_signal(signal.SIGHUP)
    took = wait_until(lambda: metrics_status(server) == {404}, timeout=15)
    wait_until(lambda: " DEBUG acmeeh" in server.log_tail(50_000), timeout=10)
    log = server.log_tail(50_000)
    assert "SIGHUP: changes to database need a restart" in log
    assert "SIGHUP: applying changes to logging, metrics" in log
    assert "SIGHUP: configuration reloaded" in log

    rewrite(server, lambda config: config["logging"].update(level="LOUD"))
    server.process.send_signal(signal.SIGHUP)
    wait_until(lambda: "is invalid, keeping the running configuration" in server.log_tail(50_000),
               timeout=10)
    assert server.alive() and get(f"{server.base_url}/livez")[0] == 200
    assert metrics_status(server) == {404}  # still the configuration loaded before
    print(f"\nSIGHUP: every worker serves the new configuration {took:.2f}s after the signal")
