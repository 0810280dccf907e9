"""What Prometheus scrapes from a real gunicorn server (2 workers, multiprocess metrics): every
metric the shipped alert rules and Grafana dashboard use is exported, and the operators' gauges
are right across workers (the pool summed over live workers, the scrape-time gauges once)."""
from __future__ import annotations

import re

import pytest
import requests
from support.acme_client import expect, http01_responder, problem_type
from support.monitoring import FROM_PROMETHEUS, names_used
from support.nginx import NEW_ACCOUNTS_PER_IP, Proxied, client_from

pytestmark = pytest.mark.e2e

SCRAPES = 6  # new connections: both workers answer some


def scrape(proxied: Proxied) -> str:
    resp = requests.get(f"{proxied.direct_url}/metrics", timeout=10,
                        headers={"Connection": "close"})
    assert resp.status_code == 200
    return resp.text


def exported(text: str) -> set[str]:
    """Sample names and the names of declared families (# TYPE), e.g. x_total and x."""
    names = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", text, re.M))
    return names | set(re.findall(r"^# TYPE (\S+) ", text, re.M))


def test_every_metric_of_the_alerts_and_dashboard_is_exported(proxied: Proxied) -> None:
    # What makes the labelled series exist: a validation and an issuance, a problem document
    # and a rate-limit refusal (unlabelled metrics and the gauges exist from the start).
    client = client_from(proxied, "127.0.0.4")
    expect(client.new_account(), 201)
    with http01_responder(proxied.server.http01_port) as responder:
        client.obtain_certificate(["names.localhost"], http01=responder)
    refused = [client_from(proxied, "127.0.0.5").new_account()
               for _ in range(NEW_ACCOUNTS_PER_IP + 1)][-1]
    assert problem_type(refused) == "urn:ietf:params:acme:error:rateLimited"

    found = set().union(*(exported(scrape(proxied)) for _ in range(2)))
    missing = {name: sorted(users) for name, users in names_used().items()
               if name not in found and name not in FROM_PROMETHEUS}
    assert not missing, f"used by the alerts or the dashboard but not exported: {missing}"
    assert len(names_used()) > 20  # the check did read the files


def value_lines(text: str, name: str) -> list[float]:
    return [float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)]


def test_gauges_are_right_across_workers(proxied: Proxied) -> None:
    config = proxied.server.config
    capacity = config["server"]["workers"] * config["database"]["max_connections"]
    for _ in range(SCRAPES):  # whichever worker answers
        text = scrape(proxied)
        assert value_lines(text, "acmeeh_db_pool_connections_max") == [capacity]
        (in_use,) = value_lines(text, "acmeeh_db_pool_connections_in_use")
        assert 0 <= in_use <= capacity
        assert value_lines(text, "acmeeh_ca_backend_up") == [1]
        (next_update,) = value_lines(text, "acmeeh_crl_next_update_seconds")
        assert 0 < next_update <= 86400  # the crl worker built one at start-up
        assert len(value_lines(text, "acmeeh_expiry_backlog")) == 2  # orders, authorizations
