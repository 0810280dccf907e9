"""A real authoritative DNS server on loopback for dns-01 and CAA tests (dnslib).

`ZoneServer` answers UDP and TCP on 127.0.0.1 from an in-memory table:
- a registered name answers its records of the asked type (NOERROR, empty if none),
- a name that only has names below it (an "empty non-terminal") answers NOERROR, empty,
- every other name answers NXDOMAIN (RFC 8020),
- a CNAME is followed within the answer, as a recursive resolver does,
- a name marked failing (`fail(name)`) answers SERVFAIL.

Out-of-process clients (certbot manual hooks) change TXT records through a tiny loopback HTTP
control endpoint (`control_url`): POST {"op": "add"|"remove"|"clear", "name": ..., "value": ...}.
"""

from __future__ import annotations

import json
import random
import socket
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from dnslib import AAAA, CAA, CNAME, QTYPE, RCODE, RR, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

HOST = "127.0.0.1"
CONTROL_MAX_BODY = 4096
TTL = 0  # answers must never be cached across test steps


def _key(name: str) -> str:
    """Canonical table key: lower case, no trailing dot."""
    return name.strip().rstrip(".").lower()


def _split_txt(value: str) -> list[bytes]:
    """A TXT record is a list of <=255 byte strings (RFC 1035 §3.3.14)."""
    raw = value.encode()
    return [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]


class _Zone(BaseResolver):
    """The record table and the dnslib resolver over it (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, list]] = {}
        self.failing: set[str] = set()  # names answered with SERVFAIL
        self.queries: deque[tuple[str, str]] = deque(maxlen=1000)

    # --- table ------------------------------------------------------------------------------
    def put(self, name: str, rtype: str, values: list) -> None:
        with self._lock:
            types = self._records.setdefault(_key(name), {})
            if values:
                types[rtype] = list(values)
            else:
                types.pop(rtype, None)
            if not types:
                self._records.pop(_key(name), None)

    def add(self, name: str, rtype: str, value) -> None:
        with self._lock:
            bucket = self._records.setdefault(_key(name), {}).setdefault(rtype, [])
            if value not in bucket:
                bucket.append(value)

    def remove(self, name: str, rtype: str, value) -> None:
        with self._lock:
            types = self._records.get(_key(name), {})
            if value in types.get(rtype, []):
                types[rtype].remove(value)
            if not types.get(rtype, True):
                types.pop(rtype)
            if not types:
                self._records.pop(_key(name), None)

    def set_failing(self, name: str, on: bool) -> None:
        with self._lock:
            (self.failing.add if on else self.failing.discard)(_key(name))

    def get(self, name: str, rtype: str) -> list:
        with self._lock:
            return list(self._records.get(_key(name), {}).get(rtype, []))

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self.failing.clear()

    def _exists(self, name: str) -> bool:
        suffix = "." + name
        return name in self._records or any(k.endswith(suffix) for k in self._records)

    # --- dnslib resolver --------------------------------------------------------------------
    def resolve(self, request, handler):
        reply = request.reply()
        reply.header.aa = 1
        qname = request.q.qname
        name = _key(str(qname))
        qtype = QTYPE.get(request.q.qtype, str(request.q.qtype))
        self.queries.append((name, qtype))
        with self._lock:
            for _hop in range(8):  # follow CNAMEs as a recursive resolver would (bounded)
                if name in self.failing:
                    reply.header.rcode = RCODE.SERVFAIL
                    return reply
                if not self._exists(name):
                    reply.header.rcode = RCODE.NXDOMAIN
                    return reply
                types = self._records.get(name, {})
                alias = types.get("CNAME", [])
                if alias and qtype not in ("CNAME", "ANY"):
                    reply.add_answer(RR(qname, QTYPE.CNAME, rdata=CNAME(alias[0]), ttl=TTL))
                    qname, name = alias[0], _key(alias[0])
                    continue
                wanted = list(types) if qtype == "ANY" else [qtype]
                for rtype in wanted:
                    for value in types.get(rtype, []):
                        reply.add_answer(
                            RR(qname, getattr(QTYPE, rtype), rdata=_rdata(rtype, value), ttl=TTL)
                        )
                return reply
        reply.header.rcode = RCODE.SERVFAIL  # a CNAME loop
        return reply


def _rdata(rtype: str, value):
    if rtype == "TXT":
        return TXT(_split_txt(value))
    if rtype == "A":
        return A(value)
    if rtype == "AAAA":
        return AAAA(value)
    if rtype == "CAA":
        flags, tag, text = value
        return CAA(flags, tag, text)
    if rtype == "CNAME":
        return CNAME(value)
    raise ValueError(f"unsupported record type {rtype}")


class _ControlHandler(BaseHTTPRequestHandler):
    """POST / with a small JSON body changes TXT records; anything else is 404/400."""

    zone: _Zone  # set on the subclass made per server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > CONTROL_MAX_BODY:
            self._reply(400, {"error": "body length"})
            return
        try:
            body = json.loads(self.rfile.read(length))
            op, name = body["op"], body["name"]
            if op == "add":
                self.zone.add(name, "TXT", str(body["value"]))
            elif op == "remove":
                self.zone.remove(name, "TXT", str(body["value"]))
            elif op == "clear":
                self.zone.put(name, "TXT", [])
            else:
                raise ValueError(op)
        except (ValueError, KeyError, TypeError) as exc:
            self._reply(400, {"error": repr(exc)})
            return
        self._reply(200, {"name": _key(name), "txt": self.zone.get(name, "TXT")})

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args) -> None:
        pass


class ZoneServer:
    """Authoritative loopback DNS (UDP+TCP, same port) plus its HTTP control endpoint."""

    def __init__(self, host: str = HOST) -> None:
        self.host = host
        self.zone = _Zone()
        self.port = 0
        self._udp: DNSServer | None = None
        self._tcp: DNSServer | None = None
        self._control: ThreadingHTTPServer | None = None
        self._control_thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> ZoneServer:
        quiet = DNSLogger(prefix=False, logf=lambda _msg: None)
        for _attempt in range(20):  # bounded: UDP gets an ephemeral port, TCP must match it
            udp = DNSServer(self.zone, port=0, address=self.host, logger=quiet)
            port = udp.server.server_address[1]
            try:
                tcp = DNSServer(self.zone, port=port, address=self.host, tcp=True, logger=quiet)
            except OSError:
                udp.server.server_close()
                continue
            self._udp, self._tcp, self.port = udp, tcp, port
            break
        else:
            raise RuntimeError("no port free for both UDP and TCP DNS")
        for server in (self._udp, self._tcp):  # short poll so stop() returns quickly
            threading.Thread(
                target=server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ).start()
        handler = type("Handler", (_ControlHandler,), {"zone": self.zone})
        self._control = ThreadingHTTPServer((self.host, 0), handler)
        self._control.daemon_threads = True
        self._control_thread = threading.Thread(
            target=self._control.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._control_thread.start()
        return self

    def stop(self) -> None:
        for server in (self._udp, self._tcp):
            if server is not None:
                server.stop()
                server.server.server_close()
        if self._control is not None:
            self._control.shutdown()
            self._control.server_close()
        self._udp = self._tcp = self._control = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- addresses --------------------------------------------------------------------------
    @property
    def address(self) -> str:
        """host:port, the form challenges.dns01.resolvers takes."""
        return f"{self.host}:{self.port}"

    @property
    def control_url(self) -> str:
        assert self._control is not None, "server not started"
        return f"http://{self.host}:{self._control.server_address[1]}/"

    # --- records ----------------------------------------------------------------------------
    def set_txt(self, name: str, values: list[str] | tuple[str, ...]) -> None:
        self.zone.put(name, "TXT", [str(v) for v in values])

    def add_txt(self, name: str, value: str) -> None:
        self.zone.add(name, "TXT", value)

    def remove_txt(self, name: str, value: str) -> None:
        self.zone.remove(name, "TXT", value)

    def clear_txt(self, name: str) -> None:
        self.zone.put(name, "TXT", [])

    def txt(self, name: str) -> list[str]:
        return self.zone.get(name, "TXT")

    def set_a(self, name: str, ip: str) -> None:
        self.zone.put(name, "A", [ip])

    def set_aaaa(self, name: str, ip: str) -> None:
        self.zone.put(name, "AAAA", [ip])

    def set_caa(self, name: str, records: list[tuple[int, str, str]]) -> None:
        """CAA records as (flags, tag, value), e.g. (0, "issue", "ca.example") (RFC 8659)."""
        self.zone.put(name, "CAA", list(records))

    def set_cname(self, name: str, target: str) -> None:
        """`name` is an alias of `target` (RFC 1034 §3.6.2); answers follow it."""
        self.zone.put(name, "CNAME", [target])

    def fail(self, name: str, on: bool = True) -> None:
        """Answer every question about `name` with SERVFAIL (or stop doing so)."""
        self.zone.set_failing(name, on)

    def reset(self) -> None:
        """Forget every record and the query log."""
        self.zone.clear()
        self.zone.queries.clear()

    @property
    def queries(self) -> list[tuple[str, str]]:
        """(name, type) of recent questions, oldest first (last 1000)."""
        return list(self.zone.queries)


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (outgoing connections take these)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_handed_out: set[int] = set()


def free_port(host: str = HOST, kind: int = socket.SOCK_STREAM) -> int:
    """A port that was free a moment ago, for a server a test starts later.

    Chosen at random below the ephemeral range: a port the kernel picks for bind(0) is also one
    it may give any process's next outgoing connection, which then holds it when the server
    binds ("address already in use" under parallel runs). Never the same port twice in one
    process.
    """
    low, high = 10000, _ephemeral_low() - 1
    for _ in range(200 if high > low else 0):  # bounded
        port = random.randint(low, high)  # noqa: S311 (not a secret)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket(socket.AF_INET, kind) as sock:  # an unusual range: let the kernel pick
        sock.bind((host, 0))
        return sock.getsockname()[1]
