"""Metrics under gunicorn with 3 workers: after N issuances spread over the workers, every
scrape (whichever worker answers it) shows the totals of all of them."""
from __future__ import annotations

import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import requests
from opstools import get, samples, total
from support.acme_client import AcmeClient, Http01Responder, expect
from support.server import RunningServer

ISSUANCES = 3
SCRAPES = 6


def worker_pids(server: RunningServer) -> set[int]:
    """The gunicorn workers (children) of the server's master."""
    pids = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue
        ppid = next((int(line.split()[1]) for line in lines if line.startswith("PPid:")), None)
        if ppid == server.process.pid:
            pids.add(int(status.parent.name))
    return pids


def metric_writers(server: RunningServer) -> set[int]:
    """Workers of the server with a counter file in a PROMETHEUS_MULTIPROC_DIR made by serve."""
    tmp = Path(tempfile.gettempdir())
    return {pid for pid in worker_pids(server) if list(tmp.glob(f"acmeeh-metrics-*/counter_{pid}.db"))}


def test_scrape_sums_all_workers(start_acme_server: Callable[..., RunningServer]) -> None:
    server = start_acme_server(workers=3)
    sent: Counter[str] = Counter()  # requests the clients made, by method
    lock = threading.Lock()
    errors: list[BaseException] = []

    def seen(response: requests.Response) -> None:
        with lock:
            sent[response.request.method] += 1

    def issue(responder: Http01Responder) -> None:
        try:
            session = requests.Session()
            session.headers["Connection"] = "close"  # a new connection, so any worker may answer
            client = AcmeClient(server.directory_url, session=session, on_response=seen)
            expect(client.new_account(), 201)
            client.obtain_certificate([f"m-{uuid.uuid4().hex[:8]}.localhost"], http01=responder)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    with Http01Responder(server.http01_port) as responder:
        threads = [threading.Thread(target=issue, args=(responder,)) for _ in range(ISSUANCES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert not errors, errors

    scrapes = []
    for _ in range(SCRAPES):  # a new connection each time: different workers answer
        status, _headers, body = get(f"{server.base_url}/metrics", headers={"Connection": "close"})
        assert status == 200
        scrapes.append(samples(body.decode()))
    for values in scrapes:
        assert total(values, "acmeeh_certificates_issued_total") == ISSUANCES
        assert total(values, "acmeeh_orders_created_total") == ISSUANCES
        assert total(values, "acmeeh_accounts_created_total") == ISSUANCES
        assert total(values, "acmeeh_challenges_validated_total", type="http-01",
                     result="valid") == ISSUANCES
        assert total(values, "acmeeh_http_requests_total", endpoint="acme.new_order",
                     method="POST", status="201") == ISSUANCES
        assert total(values, "acmeeh_http_requests_total", endpoint="acme.finalize") == ISSUANCES
        # Every POST and HEAD the clients sent is counted once, whichever worker served it.
        assert total(values, "acmeeh_http_requests_total", method="POST") == sent["POST"]
        assert total(values, "acmeeh_http_requests_total", method="HEAD") == sent["HEAD"]
        assert total(values, "acmeeh_config") == 1
        assert values.get("acmeeh_uptime_seconds", -1) >= 0
    writers = metric_writers(server)
    assert len(writers) >= 2, f"requests were not spread over the workers: {writers}"
    print(f"\n{ISSUANCES} issuances, {sum(sent.values())} ACME requests served by "
          f"{len(writers)} worker processes; {SCRAPES} scrapes all show "
          f"certificates_issued_total={ISSUANCES}, POST={sent['POST']}, HEAD={sent['HEAD']}")
