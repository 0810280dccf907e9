"""One table of bad requests against the ACME API (an app built by create_app, served in
process on a real PostgreSQL): each must answer the right problem document (RFC 8555 §6.7,
RFC 7807) with the right HTTP status, and nothing more (no traces).
"""
from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from support.acme_client import (ERROR_PREFIX, PROBLEM_JSON, AcmeClient, Http01Responder, b64,
                                 expect, make_csr, public_jwk)
from support.dns import free_port
from support.wsgi import BASE_URL, DIRECTORY, in_process_session

TRACE_MARKERS = ("Traceback", 'File "', '.py"', "psycopg", "site-packages")


def name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}.localhost"


def sibling_url(url: str) -> str:
    """`url` with its last segment replaced by one of the same shape that names nothing."""
    head, _, last = url.rpartition("/")
    try:
        uuid.UUID(last)
        return f"{head}/{uuid.uuid4()}"
    except ValueError:
        digits = last.isdigit()
        alphabet = "123456789" if digits else "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
        return f"{head}/" + "".join(secrets.choice(alphabet) for _ in last)


@dataclass
class World:
    """Things the cases need, made once per module: alice owns an issued certificate, a ready
    order's names and a pending order; bob is a stranger; `deactivated` is a closed account."""

    apps: Callable[..., Any]  # web_apps: another app, with other settings
    app: Any
    responder: Http01Responder
    alice: AcmeClient
    bob: AcmeClient
    deactivated: AcmeClient
    names: list[str]
    issued: dict  # obtain_certificate() result
    pending_order: dict
    max_body: int
    scratch: dict = field(default_factory=dict)

    @property
    def cert_der(self) -> bytes:
        return leaf_der(self.issued["pem"])

    @property
    def authz_url(self) -> str:
        return self.issued["order"]["authorizations"][0]

    @property
    def challenge_url(self) -> str:
        authz = expect(self.alice.get_authz(self.authz_url), 200).json()
        return next(c["url"] for c in authz["challenges"] if c["type"] == "http-01")

    def client(self, app: Any = None, **kwargs: Any) -> AcmeClient:
        session = in_process_session(app or self.app, BASE_URL)
        return AcmeClient(DIRECTORY, session=session, **kwargs)

    def ready_order(self) -> dict:
        """A new ready order of alice's (her authorizations are reused or validated again)."""
        created = expect(self.alice.new_order(self.names), 201)
        self.alice.complete_authorizations(created.json(), http01=self.responder)
        order = expect(self.alice.poll(created.headers["Location"], {"ready"}), 200).json()
        assert order["status"] == "ready", order
        return {**order, "url": created.headers["Location"]}

    def custom_client(self, overrides: dict) -> AcmeClient:
        """A client of an app whose settings differ by `overrides`."""
        return self.client(self.apps(overrides))


@pytest.fixture(scope="module")
def world(web_apps, web_app) -> Iterator[World]:
    # challenges.auto_accept validates without fetching; the responder still answers the token.
    with Http01Responder(free_port()) as http01:
        alice, bob, gone = (AcmeClient(DIRECTORY, session=in_process_session(web_app, BASE_URL))
                            for _ in range(3))
        for client in (alice, bob, gone):
            expect(client.new_account(), 201)
        expect(gone.deactivate_account(), 200)
        names = [name("bad")]
        issued = alice.obtain_certificate(names, http01=http01)
        pending = expect(alice.new_order([name("pending")]), 201)
        max_body = web_app.runtime.env.settings.server.max_body_bytes
        yield World(web_apps, web_app, http01, alice, bob, gone, names, issued,
                    {**pending.json(), "url": pending.headers["Location"]}, max_body)


# --- helpers for the cases -------------------------------------------------------------------
def leaf_der(pem: str) -> bytes:
    return x509.load_pem_x509_certificates(pem.encode())[0].public_bytes(Encoding.DER)


def send_jws(w: World, jws: Any, url: str | None = None, **kwargs: Any) -> requests.Response:
    url = url or w.alice.kid
    return w.alice.post(url, raw_body=json.dumps(jws).encode(), **kwargs)


def signed(w: World, **options: Any) -> dict:
    """A POST-as-GET JWS for alice's account URL (fresh nonce unless given)."""
    return w.alice.sign_request(w.alice.kid, None, **options)


def general_serialization(w: World) -> requests.Response:
    jws = signed(w)
    body = {"payload": jws["payload"],
            "signatures": [{"protected": jws["protected"], "signature": jws["signature"]}]}
    return send_jws(w, body)


def without_signature(w: World) -> requests.Response:
    jws = signed(w)
    del jws["signature"]
    return send_jws(w, jws)


def reused_nonce(w: World) -> requests.Response:
    nonce = w.alice.new_nonce()
    expect(w.alice.post(w.alice.kid, nonce=nonce), 200)
    return w.alice.post(w.alice.kid, nonce=nonce)


def bad_signature(w: World) -> requests.Response:
    nonce = w.alice.new_nonce()
    jws = signed(w, nonce=nonce)
    jws["signature"] = b64(b"\x01" * 64)
    w.scratch["nonce"] = nonce
    return send_jws(w, jws)


def nonce_still_works(w: World, _response: requests.Response) -> None:
    """alg → signature → nonce: a JWS that fails its signature must not burn the nonce."""
    expect(w.alice.post(w.alice.kid, nonce=w.scratch["nonce"]), 200)


def too_large(w: World) -> requests.Response:
    jws = signed(w)
    jws["payload"] = "A" * (w.max_body + 1024)
    return send_jws(w, jws)


def wrong_content_type(w: World) -> requests.Response:
    return send_jws(w, signed(w), headers={"Content-Type": "application/json"})


def cross_account(what: str) -> Callable[[World], requests.Response]:
    def case(w: World) -> requests.Response:
        url = {"order": w.issued["order_url"], "authz": w.authz_url,
               "challenge": w.challenge_url, "certificate": w.issued["order"]["certificate"]}[what]
        w.scratch["url"] = url
        return w.bob.post(url)
    return case


def same_as_missing(w: World, response: requests.Response) -> None:
    """Another account's resource must be indistinguishable from one that does not exist."""
    missing = w.bob.post(sibling_url(w.scratch["url"]))
    assert missing.status_code == response.status_code
    assert missing.content == response.content
    ignore = {"replay-nonce", "date", "x-request-id"}  # per-request values
    assert ({k.lower(): v for k, v in response.headers.items() if k.lower() not in ignore}
            == {k.lower(): v for k, v in missing.headers.items() if k.lower() not in ignore})


def finalize_with(csr_names: Callable[[World], list[str]], key: Callable[[World], Any] | None
                  = None) -> Callable[[World], requests.Response]:
    def case(w: World) -> requests.Response:
        order = w.ready_order()
        w.scratch["order"] = order
        csr, _ = make_csr(csr_names(w), key(w) if key else None)
        return w.alice.finalize(order, csr)
    return case


def order_stays_ready(w: World, _response: requests.Response) -> None:
    order = expect(w.alice.post(w.scratch["order"]["url"]), 200).json()
    assert order["status"] == "ready", order


def wildcard_other_challenge(w: World) -> requests.Response:
    created = expect(w.alice.new_order(["*." + name("wild")]), 201).json()
    authz = expect(w.alice.get_authz(created["authorizations"][0]), 200).json()
    assert authz.get("wildcard") is True
    assert [c["type"] for c in authz["challenges"]] == ["dns-01"]  # RFC 8555 §7.1.3, §8.3
    return w.alice.respond(sibling_url(authz["challenges"][0]["url"]))


def forbidden_name(w: World) -> requests.Response:
    client = w.custom_client(
        {"security": {"identifiers": {"forbidden_names": ["forbidden.localhost"]}}})
    expect(client.new_account(), 201)
    return client.new_order(["forbidden.localhost", "www.forbidden.localhost"])


def has_subproblems(_w: World, response: requests.Response) -> None:
    """RFC 8555 §6.7.1: one subproblem per rejected identifier, each naming it."""
    subs = response.json().get("subproblems") or []
    assert {s["identifier"]["value"] for s in subs} == {"forbidden.localhost",
                                                        "www.forbidden.localhost"}
    assert {s["type"] for s in subs} == {ERROR_PREFIX + "rejectedIdentifier"}


def revoke_twice(w: World) -> requests.Response:
    issued = w.alice.obtain_certificate(w.names, http01=w.responder)
    der = leaf_der(issued["pem"])
    expect(w.alice.revoke(der, reason=4), 200)
    return w.alice.revoke(der)


def tos_not_agreed(w: World) -> requests.Response:
    client = w.custom_client({"acme": {"terms_of_service": "https://127.0.0.1/tos"}})
    return client.new_account(tos=False)


def links_tos(_w: World, response: requests.Response) -> None:
    assert 'rel="terms-of-service"' in response.headers.get("Link", "")


def has_algorithms(_w: World, response: requests.Response) -> None:
    """RFC 8555 §6.2: badSignatureAlgorithm lists the supported algs in "algorithms"."""
    assert "ES256" in response.json().get("algorithms", [])


def carries_fresh_nonce(w: World, response: requests.Response) -> None:
    """RFC 8555 §6.5: a badNonce answer carries a nonce the client can use at once."""
    nonce = response.headers["Replay-Nonce"]
    expect(w.alice.post(w.alice.kid, nonce=nonce), 200)


def allows_post(_w: World, response: requests.Response) -> None:
    assert response.headers["Allow"] == "POST"


def unknown_kid(w: World) -> requests.Response:
    payload = {"identifiers": [{"type": "dns", "value": name("kid")}]}
    return w.alice.post(w.alice.url("newOrder"), payload, kid=sibling_url(w.alice.kid))


def rsa_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, bits)


def new_account_with(key: Any) -> Callable[[World], requests.Response]:
    return lambda w: w.client(key=key).new_account()


def contact(value: str) -> Callable[[World], requests.Response]:
    return lambda w: w.client().new_account(contact=[value])


P = pytest.param
M, BN, BSA, CSR = "malformed", "badNonce", "badSignatureAlgorithm", "badCSR"
CASES = [
    # JWS envelope (RFC 8555 §6.2)
    P(lambda w: w.alice.post(w.alice.kid, raw_body=b"{not json"), M, 400, None, id="jws-not-json"),
    P(lambda w: w.alice.post(w.alice.kid, raw_body=b"[]"), M, 400, None, id="jws-json-array"),
    P(general_serialization, M, 400, None, id="jws-general-serialization"),
    P(without_signature, M, 400, None, id="jws-missing-signature"),
    P(lambda w: send_jws(w, signed(w, alg_override="none")), BSA, 400, has_algorithms,
      id="alg-none"),
    P(lambda w: send_jws(w, signed(w, alg_override="HS256")), BSA, 400, has_algorithms,
      id="alg-hs256"),
    P(lambda w: send_jws(w, signed(w, extra_protected={"jwk": public_jwk(w.alice.key)})), M, 400,
      None, id="jwk-and-kid"),
    P(lambda w: send_jws(w, signed(w, url_override=w.alice.url("newOrder"))), M, 400, None,
      id="wrong-url"),
    P(bad_signature, M, 400, nonce_still_works, id="bad-signature-keeps-nonce"),
    # nonces (§6.5)
    P(lambda w: send_jws(w, signed(w, drop=["nonce"])), BN, 400, carries_fresh_nonce,
      id="missing-nonce"),
    P(reused_nonce, BN, 400, carries_fresh_nonce, id="reused-nonce"),
    P(lambda w: send_jws(w, signed(w, nonce=b64(secrets.token_bytes(16)))), BN, 400,
      carries_fresh_nonce, id="unknown-nonce"),
    # HTTP envelope
    P(wrong_content_type, M, 415, None, id="wrong-content-type"),
    P(too_large, M, 413, None, id="body-too-large"),
    P(lambda w: w.alice.post(w.issued["order_url"], "{}"), M, 400, None,
      id="post-as-get-with-payload"),
    P(lambda w: w.alice.request("GET", DIRECTORY.rsplit("/", 1)[0] + "/no-such"), M,
      404, None, id="unknown-url"),
    P(lambda w: w.alice.request("GET", w.alice.url("newAccount")), M, 405, allows_post,
      id="get-on-post-only"),
    # accounts (§7.3)
    P(unknown_kid, "accountDoesNotExist", 400, None, id="unknown-kid"),
    P(lambda w: w.deactivated.new_order([name("gone")]), "unauthorized", 403, None,
      id="deactivated-account"),
    P(new_account_with(rsa_key(1024)), "badPublicKey", 400, None, id="account-key-rsa-1024"),
    P(contact("http://x"), "unsupportedContact", 400, None, id="contact-http"),
    P(contact("mailto:not-an-email"), "invalidContact", 400, None, id="contact-bad-mailto"),
    P(tos_not_agreed, "userActionRequired", 403, links_tos, id="tos-not-agreed"),
    # someone else's resources look exactly like missing ones (§7.4, §7.5)
    *[P(cross_account(what), M, 404, same_as_missing, id=f"other-account-{what}")
      for what in ("order", "authz", "challenge", "certificate")],
    # orders and finalize (§7.4)
    P(lambda w: w.alice.finalize(w.pending_order, make_csr([name("early")])[0]), "orderNotReady",
      403, None, id="finalize-too-early"),
    P(finalize_with(lambda w: [name("other")]), CSR, 400, order_stays_ready, id="csr-other-names"),
    P(finalize_with(lambda w: w.names, lambda w: w.alice.key), CSR, 400, order_stays_ready,
      id="csr-account-key"),
    P(finalize_with(lambda w: w.names, lambda w: rsa_key(1024)), CSR, 400, order_stays_ready,
      id="csr-rsa-1024"),
    P(finalize_with(lambda w: w.names, lambda w: ec.generate_private_key(ec.SECP256K1())), CSR,
      400, order_stays_ready, id="csr-secp256k1"),
    P(wildcard_other_challenge, M, 404, None, id="wildcard-non-offered-challenge"),
    P(forbidden_name, "rejectedIdentifier", 400, has_subproblems, id="forbidden-name"),
    # revocation (§7.6)
    P(lambda w: w.bob.revoke(w.cert_der), "unauthorized", 403, None, id="revoke-by-stranger"),
    P(revoke_twice, "alreadyRevoked", 400, None, id="revoke-twice"),
    P(lambda w: w.alice.revoke(w.cert_der, reason=7), "badRevocationReason", 400, None,
      id="revoke-reason-7"),
]


@pytest.mark.parametrize(("make", "problem", "status", "check"), CASES)
def test_bad_request(world: World, make, problem: str, status: int, check) -> None:
    world.scratch = {}
    response = make(world)
    text = response.text
    assert response.status_code == status, text
    assert response.headers.get("Content-Type", "").startswith(PROBLEM_JSON), response.headers
    body = response.json()
    assert isinstance(body, dict) and body.get("type") == ERROR_PREFIX + problem, text
    assert isinstance(body.get("detail", ""), str)
    assert body.get("status", status) == status  # RFC 7807 §3.1: if present, the HTTP status
    assert not [m for m in TRACE_MARKERS if m in text], text
    if response.request.method == "POST":  # RFC 8555 §6.5: every answer to a POST
        assert response.headers.get("Replay-Nonce"), response.headers
    if status == 405:  # RFC 9110 §15.5.6
        assert response.headers.get("Allow"), response.headers
    if check is not None:
        check(world, response)
