"""Every Prometheus metric, defined once, and the scrape output (single or multi-process).

Under gunicorn the master sets PROMETHEUS_MULTIPROC_DIR before any worker imports
prometheus_client, so each worker writes its samples to files there and a scrape of any
worker returns the sum over all of them (prometheus-client multiprocess mode).
"""
from __future__ import annotations

import glob
import os
import time
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# --- ACME objects ---------------------------------------------------------------------
ACCOUNTS_CREATED = Counter("acmeeh_accounts_created_total", "Accounts created")
ACCOUNTS_DEACTIVATED = Counter("acmeeh_accounts_deactivated_total", "Accounts deactivated")
ORDERS_CREATED = Counter("acmeeh_orders_created_total", "Orders created")
CERTIFICATES_ISSUED = Counter("acmeeh_certificates_issued_total", "Certificates issued")
CERTIFICATES_REVOKED = Counter("acmeeh_certificates_revoked_total", "Certificates revoked")
CHALLENGES_VALIDATED = Counter(
    "acmeeh_challenges_validated_total", "Challenge validations finished", ["type", "result"]
)
CHALLENGES_EXPIRED = Counter("acmeeh_challenges_expired_total", "Challenges that expired unvalidated")
CHALLENGE_RETRIES = Counter(
    "acmeeh_challenge_retries_total",
    "Validation attempts that failed transiently and will be tried again (RFC 8555 §8.2)", ["type"]
)
VALIDATIONS_REFUSED = Counter(
    "acmeeh_validation_queue_full_total",
    "Challenge answers refused with 503 because the process's validation queue was full"
)
CA_SIGNING_ERRORS = Counter("acmeeh_ca_signing_errors_total", "CA signing errors")
UPSTREAM_ERRORS = Counter(
    "acmeeh_upstream_errors_total",
    "Failed calls to the upstream ACME CA (ca.backend acme_upstream) by operation", ["operation"])
LINT_FINDINGS = Counter(
    "acmeeh_lint_findings_total", "Pre-issuance lint findings (pkilint) by severity and code",
    ["severity", "code"])
LINT_REFUSALS = Counter(
    "acmeeh_lint_refusals_total", "Leaves refused by pre-issuance lint (order invalid, serial revoked)")
LINT_SECONDS = Histogram(
    "acmeeh_lint_seconds", "Time to lint one leaf", buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1))
CAA_CHECKS = Counter(
    "acmeeh_caa_checks_total", "CAA checks of dns identifiers (RFC 8659) by outcome", ["result"]
)
# --- revocation status (RFC 5280 CRL, RFC 6960 OCSP) ------------------------------------
CRL_BUILDS = Counter("acmeeh_crl_builds_total", "CRLs built", ["reason"])
OCSP_RESPONSES = Counter(
    "acmeeh_ocsp_responses_total", "OCSP responses", ["status", "cache"]
)
OCSP_REVOCATION_LISTENERS = Gauge(
    "acmeeh_ocsp_revocation_listeners",
    "Processes whose OCSP responder hears revocation announcements and answers stored states"
    " from memory (state=hearing), or reads each from the database because it does not hear"
    " (state=not_hearing); none with ocsp.listen_for_revocations off",
    ["state"], multiprocess_mode="livesum",
)

# --- background workers ---------------------------------------------------------------
CHALLENGE_WORKER_POLLS = Counter("acmeeh_challenge_worker_polls_total", "Challenge worker poll cycles")
CHALLENGE_WORKER_ERRORS = Counter("acmeeh_challenge_worker_errors_total", "Challenge worker errors")
CLEANUP_RUNS = Counter("acmeeh_cleanup_runs_total", "Cleanup task runs", ["task"])
CLEANUP_ERRORS = Counter("acmeeh_cleanup_errors_total", "Cleanup task errors", ["task"])
EXPIRATION_WARNINGS_SENT = Counter("acmeeh_expiration_warnings_sent_total", "Expiration warnings sent")
EXPIRATION_WORKER_ERRORS = Counter("acmeeh_expiration_worker_errors_total", "Expiration worker errors")
WORKER_RUNS = Counter("acmeeh_worker_runs_total", "Background worker cycles", ["worker"])
WORKER_ERRORS = Counter("acmeeh_worker_errors_total", "Background worker cycle errors", ["worker"])
NOTIFICATIONS_SENT = Counter("acmeeh_notifications_sent_total", "Notifications delivered", ["kind"])
NOTIFICATIONS_FAILED = Counter("acmeeh_notifications_failed_total", "Notification delivery failures", ["kind"])
WEBHOOK_DELIVERIES = Counter(
    "acmeeh_webhook_deliveries_total", "Webhook delivery attempts by outcome (delivered, failed, dead)",
    ["event", "result"])

# --- HTTP -----------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "acmeeh_http_requests_total", "HTTP requests", ["endpoint", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "acmeeh_http_request_duration_seconds",
    "HTTP request latency",
    ["endpoint", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PROBLEMS = Counter("acmeeh_problems_total", "ACME problem documents returned", ["type"])
RATE_LIMITED = Counter("acmeeh_rate_limited_total", "Requests refused by a rate limit", ["limit"])
AUDIT_SUPPRESSED = Counter(
    "acmeeh_audit_suppressed_total",
    "Audit rows of repeatable refusals (bad bearer tokens, throttled logins) left out once the"
    " per-process audit budget was spent", ["action"],
)
DATABASE_UNAVAILABLE = Counter(
    "acmeeh_database_unavailable_total",
    "Requests answered 503 because the database could not serve them (pool_timeout: no"
    " connection within database.acquire_timeout_seconds; connection: lost or refused)",
    ["reason"],
)

# --- health, set when scraped (web.gauges): the same for every worker, so the newest wins --
CA_BACKEND_UP = Gauge(
    "acmeeh_ca_backend_up", "1 when the CA backend check passes, 0 when it fails (at scrape time)",
    multiprocess_mode="mostrecent",
)
CRL_NEXT_UPDATE = Gauge(
    "acmeeh_crl_next_update_seconds",
    "Seconds until the current CRL's nextUpdate: negative once stale, -Inf when none was built,"
    " NaN when the CRL is disabled or the database does not answer",
    multiprocess_mode="mostrecent",
)
CRL_AGE = Gauge(
    "acmeeh_crl_age_seconds", "Seconds since the current CRL's thisUpdate (NaN when unknown)",
    multiprocess_mode="mostrecent",
)
EXPIRY_BACKLOG = Gauge(
    "acmeeh_expiry_backlog",
    "Orders (pending, ready) and authorizations (pending, valid) past their expiry that the"
    " cleanup worker has not marked yet",
    ["kind"], multiprocess_mode="mostrecent",
)
EXPIRY_BACKLOG_OLDEST = Gauge(
    "acmeeh_expiry_backlog_oldest_seconds",
    "How long the oldest of them has been past its expiry (0 when there is none)",
    ["kind"], multiprocess_mode="mostrecent",
)

# --- database pool, per process (workers.pool_gauges): summed over the live workers --------
def _summed(name: str, documentation: str) -> Gauge:
    """A gauge each worker process sets for itself; a scrape shows the sum over the live ones."""
    return Gauge(name, documentation, multiprocess_mode="livesum")


DB_POOL_IN_USE = _summed("acmeeh_db_pool_connections_in_use", "Pooled database connections lent out")
DB_POOL_OPEN = _summed("acmeeh_db_pool_connections_open", "Open pooled database connections")
DB_POOL_MAX = _summed("acmeeh_db_pool_connections_max",
                      "Largest number of pooled connections (database.max_connections per worker)")
DB_POOL_WAITING = _summed("acmeeh_db_pool_requests_waiting",
                          "Requests waiting for a pooled connection")
DB_POOL_WAITS = Counter("acmeeh_db_pool_waits_total", "Requests that had to wait for a connection")
DB_POOL_WAIT_SECONDS = Counter(
    "acmeeh_db_pool_wait_seconds_total", "Time requests spent waiting for a connection"
)
DB_POOL_TIMEOUTS = Counter(
    "acmeeh_db_pool_timeouts_total", "Requests that gave up waiting for a connection"
)

# --- configuration --------------------------------------------------------------------
CONFIG = Gauge(
    "acmeeh_config", "Configuration info (always 1)", ["version", "external_url", "challenges"],
    multiprocess_mode="max",
)


class _Uptime(Collector):
    """acmeeh_uptime_seconds, computed at scrape time from when metrics were set up."""

    def __init__(self, started: float) -> None:
        self._started = started

    def collect(self) -> Iterable[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "acmeeh_uptime_seconds", "Server uptime in seconds", value=time.time() - self._started
        )


class _FilesCollector(multiprocess.MultiProcessCollector):
    """MultiProcessCollector without the files a worker is creating right now.

    prometheus_client creates a process's file empty, then sizes it; a scrape that reads it in
    between fails as a whole (struct.error), so a scrape during a worker's start answered 500.
    An empty file holds no sample yet: leaving it out loses nothing.
    """

    def collect(self) -> Iterable[Metric]:
        files = []
        for path in glob.glob(os.path.join(self._path, "*.db")):
            try:
                if os.path.getsize(path) > 0:
                    files.append(path)
            except OSError:  # removed meanwhile (mark_process_dead)
                continue
        return self.merge(files, accumulate=True)


def scrape_registry(started: float) -> CollectorRegistry:
    """The registry a scrape reads: all processes' files in multiprocess mode, else this one."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        _FilesCollector(registry)
    else:
        for collector in list(REGISTRY._collector_to_names):  # noqa: SLF001 - the default set
            registry.register(collector)
    registry.register(_Uptime(started))
    return registry


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The text exposition format and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Gunicorn child_exit hook: drop a dead worker's live gauges (multiprocess mode)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)
