"""One simulated ACME client running complete issuance flows, and what it records.

A flow (RFC 8555 §7.1 "typical sequence"): newNonce, newOrder, fetch the authorization, answer
its http-01 challenge, poll the authorization, finalize with a fresh P-256 CSR, poll the order,
download the certificate. The account (newAccount, §7.3) is created once per simulated client
before the measured window and reused by all of its flows.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fasthttp
import paths  # noqa: F401  (first: src/ and tests/ on sys.path)
import requests
from support.acme_client import ERROR_PREFIX, AcmeClient, make_csr, problem_type, retry_after

THROTTLE_RETRIES = 3  # 429/503 with Retry-After: back off and retry, at most this often
MAX_DETAILS = 10


class FlowError(Exception):
    """A flow ended early; `kind` is the ACME problem type (short), http-NNN or transport:X."""

    def __init__(self, kind: str, step: str, detail: str = "") -> None:
        super().__init__(f"{kind} at {step}: {detail}")
        self.kind, self.step, self.detail = kind, step, detail


@dataclass
class Options:
    directory_url: str
    token_dir: str | None  # http-01 answers go here as <token> files; None = auto_accept mode
    poll_interval: float = 0.05
    max_polls: int = 200
    request_timeout: float = 15.0
    flow_timeout: float = 60.0
    suffix: str = "bench.localhost"
    http: str = "fast"  # "fast" (bench/fasthttp.py) or "requests"
    ca_file: str | None = None  # trust this CA for https directories (e.g. Pebble's listener)


@dataclass
class Recorder:
    """Everything one thread measured; merged per process, then across processes."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    flows_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    problems_seen: Counter = field(default_factory=Counter)
    throttled: Counter = field(default_factory=Counter)
    details: list[str] = field(default_factory=list)
    finished_at: float = 0.0

    def add(self, kind: str, seconds: float) -> None:
        self.latencies[kind].append(seconds * 1000.0)

    def fail(self, error: FlowError) -> None:
        self.errors[error.kind] += 1
        if len(self.details) < MAX_DETAILS:
            self.details.append(str(error)[:400])

    def merge(self, other: Recorder) -> None:
        for kind, values in other.latencies.items():
            self.latencies[kind].extend(values)
        self.flows_ms.extend(other.flows_ms)
        self.errors.update(other.errors)
        self.problems_seen.update(other.problems_seen)
        self.throttled.update(other.throttled)
        self.details.extend(other.details[: max(0, MAX_DETAILS - len(self.details))])
        self.finished_at = max(self.finished_at, other.finished_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "latencies": dict(self.latencies),
            "flows_ms": self.flows_ms,
            "errors": dict(self.errors),
            "problems_seen": dict(self.problems_seen),
            "throttled": dict(self.throttled),
            "details": self.details,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recorder:
        rec = cls()
        rec.latencies.update({k: list(v) for k, v in data["latencies"].items()})
        rec.flows_ms = list(data["flows_ms"])
        for name in ("errors", "problems_seen", "throttled"):
            getattr(rec, name).update(data[name])
        rec.details, rec.finished_at = list(data["details"]), data["finished_at"]
        return rec


class SimClient:
    """One account on its own HTTP session (keep-alive), used by one thread."""

    def __init__(self, opts: Options, recorder: Recorder) -> None:
        self.opts, self.rec = opts, recorder
        session = fasthttp.Session() if opts.http == "fast" else None
        self.client = AcmeClient(
            opts.directory_url,
            timeout=opts.request_timeout,
            on_response=self._seen,
            session=session,
            verify=opts.ca_file or True,
        )  # type: ignore[arg-type]

    def _seen(self, response: requests.Response) -> None:
        # every problem answer, including a badNonce the client retried on its own (§6.5)
        if response.status_code >= 400:
            self.rec.problems_seen[_short(response)] += 1

    def setup(self) -> None:
        """Fetch the directory and create the account; raises FlowError."""
        self.call("directory", lambda: self.client.request("GET", self.opts.directory_url))
        self.call("newAccount", self.client.new_account, expect=(200, 201))
        if not self.client.kid:
            raise FlowError("noAccountLocation", "newAccount")

    def run_flow(self) -> bool:
        """One complete issuance; records its latency or its error. True on success."""
        start = time.perf_counter()
        try:
            self._flow(start + self.opts.flow_timeout)
        except FlowError as error:
            self.rec.fail(error)
            return False
        except (KeyError, ValueError, TypeError, StopIteration) as exc:  # malformed answers
            self.rec.fail(FlowError(f"unexpected:{type(exc).__name__}", "flow", repr(exc)))
            return False
        self.rec.flows_ms.append((time.perf_counter() - start) * 1000.0)
        return True

    def _flow(self, deadline: float) -> None:
        c = self.client
        self.call("newNonce", c.nonce_response, "HEAD")
        name = f"{uuid.uuid4().hex}.{self.opts.suffix}"
        created = self.call("newOrder", c.new_order, [name], expect=(201,))
        order_url, order = created.headers["Location"], created.json()
        authz_url = order["authorizations"][0]
        authz = self.call("authz", c.get_authz, authz_url).json()
        if authz["status"] != "valid":
            challenge = next(ch for ch in authz["challenges"] if ch["type"] == "http-01")
            answer = self._publish(challenge["token"])
            try:
                self.call("challenge", c.respond, challenge["url"])
                self.poll("authzPoll", authz_url, "valid", deadline)
            finally:
                if answer is not None:
                    answer.unlink(missing_ok=True)
        csr, _key = make_csr([name])  # a fresh P-256 key per certificate
        self.call("finalize", c.finalize, order, csr)
        final = self.poll("orderPoll", order_url, "valid", deadline)
        pem = self.call("certificate", c.download, final["certificate"]).text
        if not pem.startswith("-----BEGIN CERTIFICATE-----"):
            raise FlowError("notPemChain", "certificate", pem[:80])

    def _publish(self, token: str) -> Path | None:
        """Put the key authorization where the shared http-01 responder reads it (§8.3)."""
        if self.opts.token_dir is None:
            return None
        path = Path(self.opts.token_dir) / token
        tmp = path.with_name(f".{token}.{os.getpid()}")
        tmp.write_text(self.client.key_authorization(token))
        os.replace(tmp, path)  # atomic: the responder never reads half a file
        return path

    def poll(self, kind: str, url: str, wanted: str, deadline: float) -> dict[str, Any]:
        """POST-as-GET until `wanted`; bounded by max_polls and the flow deadline."""
        for _ in range(self.opts.max_polls):
            response = self.call(kind, self.client.post, url)
            body = response.json()
            status = body.get("status")
            if status == wanted:
                return body
            if status in ("invalid", "deactivated", "expired", "revoked", "valid"):
                raise FlowError(f"{kind}:{status}", kind, str(body.get("error", ""))[:300])
            if time.perf_counter() >= deadline:
                break
            time.sleep(min(retry_after(response, self.opts.poll_interval), self.opts.poll_interval))
        raise FlowError(f"timeout:{kind}", kind, f"still not {wanted}")

    def call(
        self,
        kind: str,
        fn: Callable[..., requests.Response],
        *args: Any,
        expect: tuple[int, ...] = (200,),
    ) -> requests.Response:
        """Time one request; back off on 429/503 with Retry-After; raise FlowError otherwise."""
        for attempt in range(THROTTLE_RETRIES + 1):
            start = time.perf_counter()
            try:
                response = fn(*args)
            except requests.RequestException as exc:
                self.rec.add(kind, time.perf_counter() - start)
                raise FlowError(f"transport:{type(exc).__name__}", kind, str(exc)[:300]) from None
            self.rec.add(kind, time.perf_counter() - start)
            if response.status_code in expect:
                return response
            throttled = response.status_code in (429, 503) and "Retry-After" in response.headers
            if throttled and attempt < THROTTLE_RETRIES:
                self.rec.throttled[kind] += 1
                time.sleep(min(retry_after(response, 1.0), 2.0))
                continue
            raise FlowError(_short(response), kind, response.text[:300])
        raise AssertionError("unreachable")


def _short(response: requests.Response) -> str:
    """urn:ietf:params:acme:error:badNonce → badNonce; non-problem answers → http-NNN."""
    ptype = problem_type(response)
    if ptype:
        return ptype.removeprefix(ERROR_PREFIX)
    return f"http-{response.status_code}"
