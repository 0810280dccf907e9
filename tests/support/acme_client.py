"""A small, explicit raw ACME (RFC 8555) client for tests and the load generator.

Request methods return the raw `requests.Response` (status, headers, problem documents stay
visible). The flattened JWS (RFC 7515 §7.2.2; protected alg, nonce, url, jwk or kid per RFC 8555
§6.2) is built by hand, and any part of it can be overridden to build bad requests."""
from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import josepy
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

JOSE_JSON = "application/jose+json"
PROBLEM_JSON = "application/problem+json"
PEM_CHAIN = "application/pem-certificate-chain"
ERROR_PREFIX = "urn:ietf:params:acme:error:"
TERMINAL = frozenset({"valid", "invalid", "deactivated", "expired", "revoked"})
REQUEST_TIMEOUT = 15.0
MAX_POLLS = 600  # hard cap on poll() iterations, whatever the timeout
_NONCE_POOL_MAX = 32
_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class AcmeError(Exception):
    """An ACME request answered something the caller did not expect."""

    def __init__(self, message: str, response: requests.Response | None = None) -> None:
        if response is not None:
            message += f": HTTP {response.status_code} {response.text[:2000]}"
        super().__init__(message)
        self.response = response


def b64(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def expect(response: requests.Response, *statuses: int) -> requests.Response:
    """Return `response` if its status is one of `statuses`, else raise AcmeError."""
    if response.status_code not in statuses:
        raise AcmeError(f"{response.request.method} {response.url} expected {statuses}", response)
    return response


def default_alg(key: PrivateKey) -> str:
    """The natural JWS alg for a key (RFC 7518 §3.1; RFC 8037 for EdDSA)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {256: "ES256", 384: "ES384", 521: "ES512"}.get(key.curve.key_size, "ES256")
    return "RS256" if isinstance(key, rsa.RSAPrivateKey) else "EdDSA"


def sign(key: PrivateKey, alg: str, data: bytes) -> bytes:
    """A JWS signature over `data` (ECDSA as fixed-size r||s, RFC 7518 §3.4)."""
    if alg.startswith("ES") and isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(_HASHES[alg[2:]]())))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if alg.startswith("RS") and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), _HASHES[alg[2:]]())
    if alg.startswith("PS") and isinstance(key, rsa.RSAPrivateKey):
        pss = padding.PSS(padding.MGF1(_HASHES[alg[2:]]()), _HASHES[alg[2:]]().digest_size)
        return key.sign(data, pss, _HASHES[alg[2:]]())
    if alg == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    raise ValueError(f"cannot sign {alg} with {type(key).__name__}")


def public_jwk(key: PrivateKey) -> dict[str, str]:
    """The public JWK of `key` (RFC 7517), as a JSON-ready dict."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes_raw()
        return {"crv": "Ed25519", "kty": "OKP", "x": b64(raw)}
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return dict(josepy.JWKEC(key=key.public_key()).to_json())
    return dict(josepy.JWKRSA(key=key.public_key()).to_json())


def thumbprint(key: PrivateKey) -> str:
    """RFC 7638 JWK thumbprint: SHA-256 of the required members, sorted, no spaces; base64url."""
    jwk = public_jwk(key)
    members = {name: jwk[name] for name in ("crv", "e", "kty", "n", "x", "y") if name in jwk}
    return b64(hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode())
               .digest())


def flattened_jws(key: PrivateKey, sign_alg: str, protected: dict, payload: bytes | None) -> dict:
    """A flattened JWS; `payload=None` gives the empty payload of POST-as-GET (RFC 8555 §6.3)."""
    header = b64(json.dumps(protected).encode())
    body = "" if payload is None else b64(payload)
    signature = sign(key, sign_alg, f"{header}.{body}".encode("ascii"))
    return {"protected": header, "payload": body, "signature": b64(signature)}


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def identifier(value: str | dict) -> dict:
    """{"type": "ip"|"dns", "value": ...}: addresses are ip identifiers (RFC 8738)."""
    if isinstance(value, dict):
        return value
    return {"type": "ip" if _ip(value) else "dns", "value": value}


def make_csr(names: Iterable[str], key: PrivateKey | None = None, *,
             common_name: bool = True) -> tuple[bytes, PrivateKey]:
    """A DER CSR for `names` (dns names and ip addresses as SANs), and its key (P-256 if None)."""
    names = list(names)
    key = key or ec.generate_private_key(ec.SECP256R1())
    sans = [x509.IPAddress(ip) if (ip := _ip(n)) else x509.DNSName(n) for n in names]
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, names[0])] if (
        common_name and names and len(names[0]) <= 64) else []
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(subject))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    csr = builder.sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256())
    return csr.public_bytes(Encoding.DER), key


class AcmeClient:
    """One ACME account (one key) on one server; use clone() to give each thread a session."""

    def __init__(self, directory_url: str, key: PrivateKey | None = None, alg: str | None = None,
                 *, session: requests.Session | None = None, verify: bool | str = True,
                 timeout: float = REQUEST_TIMEOUT,
                 on_response: Callable[[requests.Response], None] | None = None) -> None:
        self.directory_url = directory_url
        self.key: PrivateKey = key or ec.generate_private_key(ec.SECP256R1())
        self.alg = alg or default_alg(self.key)
        self.kid: str | None = None
        self.timeout = timeout
        self.on_response = on_response
        self._session = session or requests.Session()
        self._session.trust_env = False  # loopback only: never a proxy from the environment
        self._session.verify = verify
        self._directory: dict | None = None
        self._nonces: list[str] = []
        self._lock = threading.Lock()

    def clone(self) -> AcmeClient:
        """The same account (key, kid, directory) on its own HTTP session, for another thread."""
        other = AcmeClient(self.directory_url, self.key, self.alg, verify=self._session.verify,
                           timeout=self.timeout, on_response=self.on_response)
        other.kid, other._directory = self.kid, self._directory
        return other

    # --- transport -------------------------------------------------------------------------
    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Any HTTP request; remembers the Replay-Nonce it carries (RFC 8555 §6.5)."""
        kwargs = {"timeout": self.timeout, "allow_redirects": False, **kwargs}
        response = self._session.request(method, url, **kwargs)
        if nonce := response.headers.get("Replay-Nonce"):
            with self._lock:
                self._nonces = [*self._nonces[-_NONCE_POOL_MAX:], nonce]
        if self.on_response is not None:
            self.on_response(response)
        return response

    @property
    def directory(self) -> dict:
        if self._directory is None:
            self._directory = expect(self.request("GET", self.directory_url), 200).json()
        return self._directory

    def url(self, name: str) -> str:  # newNonce, newAccount, newOrder, revokeCert, keyChange
        return self.directory[name]

    def nonce_response(self, method: str = "HEAD") -> requests.Response:
        """The raw newNonce answer (HEAD → 200, GET → 204, RFC 8555 §7.2)."""
        return self.request(method, self.url("newNonce"))

    def new_nonce(self) -> str:
        """A fresh nonce from newNonce (not taken from the pool)."""
        nonce = expect(self.nonce_response("HEAD"), 200).headers["Replay-Nonce"]
        self._discard(nonce)
        return nonce

    def take_nonce(self) -> str:
        """A nonce from the pool, or a fresh one."""
        with self._lock:
            if self._nonces:
                return self._nonces.pop()
        return self.new_nonce()

    def _discard(self, nonce: str) -> None:
        with self._lock:
            self._nonces = [n for n in self._nonces if n != nonce]

    # --- JWS -------------------------------------------------------------------------------
    def sign_request(self, url: str, payload: dict | bytes | str | None = None, *,
                     use_jwk: bool = False, nonce: str | None = None,
                     url_override: str | None = None, alg_override: str | None = None,
                     key: PrivateKey | None = None, kid: str | None = None,
                     extra_protected: dict | None = None, drop: Iterable[str] = ()) -> dict:
        """The flattened JWS for a POST to `url` (RFC 8555 §6.2). `drop` removes header fields;
        `alg_override` changes only the header (the signature stays with the key's own alg)."""
        key, drop = key or self.key, set(drop)
        sign_alg = self.alg if key is self.key else default_alg(key)
        nonce = nonce or ("" if "nonce" in drop else self.take_nonce())
        protected: dict[str, Any] = {"alg": alg_override or sign_alg, "nonce": nonce,
                                     "url": url_override or url}
        if use_jwk:
            protected["jwk"] = public_jwk(key)
        else:
            protected["kid"] = kid or self.kid
        protected.update(extra_protected or {})
        protected = {name: value for name, value in protected.items() if name not in drop}
        if isinstance(payload, (dict, str)):
            payload = (json.dumps(payload) if isinstance(payload, dict) else payload).encode()
        jws = flattened_jws(key, sign_alg, protected, payload)
        if alg_override == "none":
            jws["signature"] = ""
        return jws

    def post(self, url: str, payload: dict | bytes | str | None = None, *,
             nonce: str | None = None, headers: dict | None = None, raw_body: bytes | None = None,
             **jws_options: Any) -> requests.Response:
        """POST a JWS (payload None = POST-as-GET, RFC 8555 §6.3); `jws_options` are those of
        sign_request (use_jwk, url_override, alg_override, key, kid, extra_protected, drop).
        Retries once on badNonce with the nonce the error carries (§6.5), unless the caller
        fixed `nonce` or `raw_body`."""
        send_headers = {"Content-Type": JOSE_JSON, **(headers or {})}
        retry = nonce is None and raw_body is None
        for _attempt in range(2):
            body = raw_body if raw_body is not None else json.dumps(
                self.sign_request(url, payload, nonce=nonce, **jws_options)).encode()
            response = self.request("POST", url, data=body, headers=send_headers)
            nonce = response.headers.get("Replay-Nonce")
            if not (retry and nonce and problem_type(response) == ERROR_PREFIX + "badNonce"):
                break
            retry = False  # §6.5: retry once, with the nonce the error response carries
            self._discard(nonce)
        return response

    # --- accounts (RFC 8555 §7.3) -----------------------------------------------------------
    def new_account(self, contact: Iterable[str] | None = None, tos: bool = True,
                    only_return_existing: bool = False, **extra: Any) -> requests.Response:
        """POST newAccount signed with the jwk; remembers the account URL (kid) on 200/201."""
        flags = {"termsOfServiceAgreed": tos, "onlyReturnExisting": only_return_existing}
        payload: dict[str, Any] = {**extra, **{name: True for name, on in flags.items() if on}}
        if contact is not None:
            payload["contact"] = list(contact)
        response = self.post(self.url("newAccount"), payload, use_jwk=True)
        if response.status_code in (200, 201) and response.headers.get("Location"):
            self.kid = response.headers["Location"]
        return response

    def update_account(self, **fields: Any) -> requests.Response:
        return self.post(self.kid, fields)

    def deactivate_account(self) -> requests.Response:  # §7.3.6
        return self.post(self.kid, {"status": "deactivated"})

    def key_change(self, new_key: PrivateKey, new_alg: str | None = None, *,
                   inner_payload: dict | None = None,
                   inner_jwk: dict | None = None) -> requests.Response:
        """Roll the account key (§7.3.5): inner JWS by the new key inside the outer by the old.
        `inner_jwk` replaces the inner header's jwk (the new key's public JWK)."""
        url = self.url("keyChange")
        new_alg = new_alg or default_alg(new_key)
        inner_protected = {"alg": new_alg, "jwk": inner_jwk or public_jwk(new_key), "url": url}
        payload = inner_payload or {"account": self.kid, "oldKey": public_jwk(self.key)}
        inner = flattened_jws(new_key, new_alg, inner_protected, json.dumps(payload).encode())
        response = self.post(url, inner)
        if response.status_code == 200:
            self.key, self.alg = new_key, new_alg
        return response

    # --- orders, authorizations, challenges (§7.4, §7.5) -------------------------------------
    def new_order(self, identifiers: Iterable[str | dict], **extra: Any) -> requests.Response:
        return self.post(self.url("newOrder"), {"identifiers": [identifier(v) for v in identifiers],
                                                **extra})

    def get_authz(self, url: str) -> requests.Response:
        return self.post(url)

    def deactivate_authz(self, url: str) -> requests.Response:  # §7.5.2
        return self.post(url, {"status": "deactivated"})

    def respond(self, challenge_url: str) -> requests.Response:  # §7.5.1: POST {}
        return self.post(challenge_url, {})

    def poll(self, url: str, until: Iterable[str] = ("valid",), timeout: float = 30.0,
             max_interval: float = 0.5) -> requests.Response:
        """POST-as-GET `url` until its status is in `until` or terminal, or an error answers.
        Sleeps Retry-After capped at `max_interval`; raises TimeoutError after `timeout`."""
        wanted, deadline = set(until), time.monotonic() + timeout
        response: requests.Response | None = None
        for _ in range(MAX_POLLS):
            response = self.post(url)
            if response.status_code >= 400:
                return response
            status = response.json().get("status")
            if status in wanted or status in TERMINAL:
                return response
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(max(0.05, min(retry_after(response, max_interval), max_interval, remaining)))
        raise TimeoutError(f"{url} not {sorted(wanted)} after {timeout}s: {response and response.text}")

    def finalize(self, order: dict | str, csr_der: bytes) -> requests.Response:
        """POST the CSR to the order's finalize URL (§7.4); `order` is the order object or URL."""
        url = order["finalize"] if isinstance(order, dict) else order
        return self.post(url, {"csr": b64(csr_der)})

    def download(self, cert_url: str, accept: str = PEM_CHAIN) -> requests.Response:
        """POST-as-GET the certificate chain (§7.4.2)."""
        return self.post(cert_url, headers={"Accept": accept})

    def revoke(self, cert_der: bytes, reason: int | None = None,
               key: PrivateKey | None = None) -> requests.Response:
        """Revoke (§7.6): by the account (kid), or by the certificate's key (jwk) if `key`."""
        payload: dict[str, Any] = {"certificate": b64(cert_der)}
        if reason is not None:
            payload["reason"] = reason
        if key is not None:
            return self.post(self.url("revokeCert"), payload, use_jwk=True, key=key)
        return self.post(self.url("revokeCert"), payload)

    def key_authorization(self, token: str) -> str:  # §8.1: token || '.' || thumbprint
        return f"{token}.{thumbprint(self.key)}"

    # --- whole flows, for tests and the load generator ------------------------------------
    def complete_authorizations(self, order: dict, *, http01: Http01Responder | None = None,
                                dns: Any = None, timeout: float = 30.0) -> None:
        """Answer every pending authz of `order` (http-01 if a responder, else dns-01), then
        wait until each is valid; raise AcmeError otherwise."""
        pending = []
        for authz_url in order["authorizations"]:
            authz = expect(self.get_authz(authz_url), 200).json()
            if authz["status"] == "valid":
                continue
            kinds = {c["type"]: c for c in authz["challenges"]}
            kind = "http-01" if http01 is not None and "http-01" in kinds else "dns-01"
            if kind not in kinds or (kind == "dns-01" and dns is None):
                raise AcmeError(f"no usable challenge in {sorted(kinds)} for {authz_url}")
            token = kinds[kind]["token"]
            if kind == "http-01":
                http01.add(token, self.key_authorization(token))
            else:
                answer_dns01(dns, authz["identifier"]["value"], self.key_authorization(token))
            expect(self.respond(kinds[kind]["url"]), 200)
            pending.append(authz_url)
        for authz_url in pending:
            final = self.poll(authz_url, {"valid", "invalid"}, timeout=timeout)
            if final.status_code != 200 or final.json().get("status") != "valid":
                raise AcmeError(f"authorization {authz_url} not valid", final)

    def obtain_certificate(self, names: Iterable[str], *, http01: Http01Responder | None = None,
                           dns: Any = None, csr_key: PrivateKey | None = None,
                           timeout: float = 30.0) -> dict[str, Any]:
        """newOrder → challenges → finalize → download. Returns order_url, order, pem, key."""
        names = list(names)
        created = expect(self.new_order(names), 201)
        order_url = created.headers["Location"]
        self.complete_authorizations(created.json(), http01=http01, dns=dns, timeout=timeout)
        ready = self.poll(order_url, {"ready"}, timeout=timeout)
        if ready.status_code != 200 or ready.json()["status"] != "ready":
            raise AcmeError(f"order {order_url} not ready", ready)
        csr, key = make_csr(names, csr_key)
        expect(self.finalize(ready.json(), csr), 200)
        final = self.poll(order_url, {"valid"}, timeout=timeout)
        if final.status_code != 200 or (order := final.json()).get("status") != "valid":
            raise AcmeError(f"order {order_url} not valid", final)
        pem = expect(self.download(order["certificate"]), 200).text
        return {"order_url": order_url, "order": order, "pem": pem, "key": key}


def problem_type(response: requests.Response) -> str | None:
    """The `type` of a problem document answer, else None."""
    if not response.headers.get("Content-Type", "").startswith(PROBLEM_JSON):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("type") if isinstance(body, dict) else None


def retry_after(response: requests.Response, default: float) -> float:
    """Retry-After in seconds (delta-seconds form only; RFC 9110 §10.2.3)."""
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else default


# --- challenge answers (RFC 8555 §8.3, §8.4) ---------------------------------------------------
class _Http01Handler(BaseHTTPRequestHandler):
    """GET /.well-known/acme-challenge/{token} → the key authorization, else 404."""
    responder: Http01Responder  # set on the subclass made per responder
    PREFIX = "/.well-known/acme-challenge/"

    def do_GET(self) -> None:
        token = self.path.split("?", 1)[0].removeprefix(self.PREFIX)
        answer = self.responder.lookup(token) if self.path.startswith(self.PREFIX) else None
        data = (answer or "not found").encode()
        self.send_response(200 if answer is not None else 404)
        for name, value in (("Content-Type", "text/plain"), ("Content-Length", str(len(data)))):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:  # keep stderr quiet
        pass


class Http01Responder:
    """A threaded loopback HTTP server (127.0.0.1 and, if possible, ::1) answering http-01.
    `hits` counts requests per token, so tests can tell how many validations happened."""

    def __init__(self, port: int, hosts: Iterable[str] = ("127.0.0.1", "::1")) -> None:
        self.port = port
        self.hosts = tuple(hosts)
        self.hits: dict[str, int] = {}
        self._answers: dict[str, str] = {}
        self._lock = threading.Lock()  # guards _answers and hits
        self._servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def add(self, token: str, key_authorization: str) -> None:
        with self._lock:
            self._answers[token] = key_authorization

    def lookup(self, token: str) -> str | None:
        with self._lock:
            self.hits[token] = self.hits.get(token, 0) + 1
            return self._answers.get(token)

    def start(self) -> Http01Responder:
        handler = type("Handler", (_Http01Handler,), {"responder": self})
        for host in self.hosts:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            # socketserver's listen backlog is 5: a burst of validations overflows it, and a
            # dropped SYN is retried only after a second (the load generator's p99 showed it).
            cls = type("Server", (ThreadingHTTPServer,),
                       {"address_family": family, "request_queue_size": 128})
            try:
                server = cls((host, self.port), handler)
            except OSError:
                if family == socket.AF_INET6:
                    continue  # no IPv6 loopback here: IPv4 alone will do
                self.stop()
                raise
            server.daemon_threads = True
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                      daemon=True)
            thread.start()
            self._servers.append((server, thread))
        return self

    def stop(self) -> None:
        """Shut down (bounded: each thread joined for at most 5 s)."""
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._servers.clear()

    def __enter__(self) -> Http01Responder:
        return self if self._servers else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def http01_responder(port: int) -> Http01Responder:
    """A started http-01 responder on loopback `port`; call .stop() (or use `with`)."""
    return Http01Responder(port).start()


def dns01_txt_value(key_authorization: str) -> str:
    """The TXT value for dns-01: base64url(SHA-256(key authorization)) (§8.4)."""
    return b64(hashlib.sha256(key_authorization.encode()).digest())


def answer_dns01(dns: Any, identifier_value: str, key_authorization: str) -> str:
    """Publish the dns-01 TXT record on the test DNS server (`acme_server.dns`); returns the
    record name. A wildcard is validated at its base name (§8.4)."""
    name = "_acme-challenge." + identifier_value.removeprefix("*.")
    dns.set_txt(name, [dns01_txt_value(key_authorization)])
    return name
