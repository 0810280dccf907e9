"""bench/chaos.py, lean, in CI: ACME clients run complete http-01 issuance flows against
gunicorn while the script stops and restarts its own PostgreSQL (never the shared test server).
No request may answer 500; every refused one is a 503 with Retry-After; afterwards no order is
left in processing and every certificate a client downloaded is stored. The full measurement
(c=8, a PostgreSQL restart and a kill -9 of a worker) is `.venv/bin/python bench/chaos.py`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CHAOS = ROOT / "bench" / "chaos.py"
# bench/chaos.py measures the 2 s goal; a CI machine shared with other jobs gets some slack
# (test_ops_outage.py holds its probes to 2 s).
RECOVERY_BOUND = 5.0


def test_postgresql_restart_under_load(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    done = subprocess.run(
        [sys.executable, str(CHAOS), "--concurrency", "4", "--seconds", "8", "--restart-at", "2.5",
         "--down-seconds", "1.5", "--kill-at", "0", "--workers", "2", "--mode", "http-01",
         "--recovery-goal", str(RECOVERY_BOUND), "--check", "--json-out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert out.exists(), f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    result = json.loads(out.read_text())
    restart = result["postgres_restart"]
    print(f"\nPostgreSQL down {restart['down_s']}s under c=4: failed {restart['failed']} of "
          f"{restart['requests']} requests; after it accepted connections: /readyz 200 in "
          f"{restart['readyz_200_after_accepting_s']}s, no failure among requests sent later than "
          f"{restart['recovery_after_accepting_s']}s, first client success (after Retry-After) in "
          f"{restart['first_success_after_accepting_s']}s; {result['flows_completed']} flows "
          f"completed; after: {result['after']}")
    assert "500" not in result["failed_by_status"]
    assert set(result["failed_by_status"]) <= {"503"}, (result["failed_by_status"], restart["no_answer"])
    assert restart["failed"].get("503", 0) > 0, "the restart was not felt"
    assert restart["failed_503_without_retry_after"] == 0
    assert result["after"]["orders_processing"] == 0
    assert result["after"]["valid_orders_without_certificate"] == 0
    assert result["after"]["downloaded_not_stored"] == 0
    assert result["after"]["certificates_downloaded"] > 0
    assert done.returncode == 0, result["missed_goals"]
