"""JWS edges of the ACME API (an app built by create_app, served in process on a real
PostgreSQL), RFC 8555 §6.2-6.5:

- a nonce is accepted only as the exact spelling the server minted, and once, however spelled;
- a jwk's `alg` member, when present, is the JWS alg;
- an RSA jwk over the largest of security.rsa_key_sizes is refused before any signature work;
- a kid is exactly an account URL this server hands out (else malformed); a well-formed URL
  of no account is accountDoesNotExist.
"""
from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Callable, Iterator

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from support.acme_client import (ERROR_PREFIX, AcmeClient, b64, expect, flattened_jws,
                                 problem_type, public_jwk)
from support.wsgi import BASE_URL

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
MAX_NONCES = 40  # bounded search for a nonce holding "-" or "_"


@pytest.fixture(scope="module")
def alice(client_for) -> Iterator[AcmeClient]:
    client = client_for()
    expect(client.new_account(), 201)
    yield client


def read_account(client: AcmeClient, nonce: str, **options) -> requests.Response:
    """POST-as-GET of the client's account with exactly `nonce` (no badNonce retry)."""
    return client.post(client.kid, nonce=nonce, **options)


def assert_problem(response: requests.Response, problem: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert problem_type(response) == ERROR_PREFIX + problem, response.text


# --- nonces: one spelling, redeemed once ---------------------------------------------------
def stray_low_bits(nonce: str) -> str:
    """The last character of 40 bytes in base64 carries 2 bits; its 4 low bits are unused, and
    lenient decoders ignore them: a different string, the same bytes."""
    return nonce[:-1] + B64URL[B64URL.index(nonce[-1]) ^ 1]


def standard_alphabet(nonce: str) -> str:
    return nonce.replace("-", "+").replace("_", "/")


# Characters are inserted four at a time: the length stays that of an unpadded nonce plus a
# multiple of 4, which a forgiving decoder takes without a padding complaint.
SPELLINGS = [
    pytest.param(lambda n: n + "=", id="padding-1"),
    pytest.param(lambda n: n + "==", id="padding-2"),
    pytest.param(lambda n: n + "===", id="padding-3"),
    pytest.param(stray_low_bits, id="stray-low-bits"),
    pytest.param(standard_alphabet, id="standard-base64-alphabet"),
    pytest.param(lambda n: n[:10] + "...." + n[10:], id="dots-inside"),
    pytest.param(lambda n: n[:10] + "\n\n\n\n" + n[10:], id="newlines-inside"),
    pytest.param(lambda n: "    " + n, id="leading-spaces"),
    pytest.param(lambda n: n + "\u0000" * 4, id="trailing-nuls"),
]


def lenient(text: str) -> bytes:
    """What Python's forgiving base64 decoder makes of `text` (stray characters dropped)."""
    return base64.urlsafe_b64decode(text + "==")


def nonce_with_url_safe_characters(client: AcmeClient) -> str:
    """A fresh nonce holding "-" or "_", so the standard alphabet spells it differently."""
    for _ in range(MAX_NONCES):
        nonce = client.new_nonce()
        if "-" in nonce or "_" in nonce:
            return nonce
    raise AssertionError(f"no nonce with '-' or '_' in {MAX_NONCES} tries")


@pytest.mark.parametrize("respell", SPELLINGS)
def test_a_nonce_is_accepted_only_as_minted_and_only_once(
        alice: AcmeClient, respell: Callable[[str], str]) -> None:
    nonce = nonce_with_url_safe_characters(alice)
    other = respell(nonce)
    assert other != nonce
    assert lenient(other) == lenient(nonce)  # the same nonce to a forgiving decoder
    assert_problem(read_account(alice, other), "badNonce")  # refused, and not redeemed:
    expect(read_account(alice, nonce), 200)  # the minted spelling still works, once
    assert_problem(read_account(alice, other), "badNonce")
    assert_problem(read_account(alice, nonce), "badNonce")


# --- jwk "alg" ------------------------------------------------------------------------------
def new_account_with_jwk_alg(alg) -> Callable[[AcmeClient], requests.Response]:
    def send(client: AcmeClient) -> requests.Response:
        jwk = {**public_jwk(client.key), "alg": alg}
        return client.post(client.url("newAccount"), {"termsOfServiceAgreed": True},
                           use_jwk=True, extra_protected={"jwk": jwk})
    return send


@pytest.mark.parametrize(("alg", "status", "problem"), [
    pytest.param("ES384", 400, "malformed", id="other-ec-alg"),
    pytest.param("RS256", 400, "malformed", id="rsa-alg"),
    pytest.param("es256", 400, "malformed", id="other-case"),
    pytest.param(256, 400, "malformed", id="not-a-string"),
    pytest.param("ES256", 201, None, id="same-alg"),
])
def test_a_jwk_alg_member_must_be_the_jws_alg(client_for, alg, status: int,
                                              problem: str | None) -> None:
    response = new_account_with_jwk_alg(alg)(client_for())
    assert response.status_code == status, response.text
    if problem:
        assert_problem(response, problem, status)


@pytest.mark.parametrize(("alg", "status"), [("ES384", 400), ("ES256", 200)])
def test_a_key_change_inner_jwk_alg_must_be_the_inner_alg(client_for, alg: str,
                                                          status: int) -> None:
    client = client_for()
    expect(client.new_account(), 201)
    new_key = ec.generate_private_key(ec.SECP256R1())
    response = client.key_change(new_key, inner_jwk={**public_jwk(new_key), "alg": alg})
    assert response.status_code == status, response.text
    if status == 400:
        assert_problem(response, "malformed")


# --- RSA keys over the size limit -----------------------------------------------------------
def oversized_rsa_jwk(bits: int) -> dict:
    """An RSA public JWK with a `bits`-bit modulus; nobody holds its private key, and the
    signature over it is junk: a server that checked it would answer malformed."""
    n = secrets.randbits(bits) | (1 << (bits - 1)) | 1
    return {"kty": "RSA", "n": b64(n.to_bytes((bits + 7) // 8, "big")), "e": "AQAB"}


def junk_signed(protected: dict, payload: dict, bits: int) -> dict:
    header = b64(json.dumps(protected).encode())
    body = b64(json.dumps(payload).encode())
    return {"protected": header, "payload": body, "signature": b64(secrets.token_bytes(bits // 8))}


def test_an_rsa_jwk_over_the_limit_is_refused_before_the_signature(alice: AcmeClient) -> None:
    bits = 8192 + 64  # over the largest size security.rsa_key_sizes can list (8192)
    nonce = alice.new_nonce()
    url = alice.url("newAccount")
    jws = junk_signed({"alg": "RS256", "nonce": nonce, "url": url, "jwk": oversized_rsa_jwk(bits)},
                      {"termsOfServiceAgreed": True}, bits)
    response = alice.post(url, raw_body=json.dumps(jws).encode())
    assert_problem(response, "badPublicKey")
    expect(read_account(alice, nonce), 200)  # refused before the nonce was redeemed


def test_a_key_change_to_an_rsa_key_over_the_limit_is_refused_before_its_signature(
        client_for) -> None:
    client = client_for()
    expect(client.new_account(), 201)
    bits = 8192 + 64
    url = client.url("keyChange")
    inner = junk_signed({"alg": "RS256", "url": url, "jwk": oversized_rsa_jwk(bits)},
                        {"account": client.kid, "oldKey": public_jwk(client.key)}, bits)
    assert_problem(client.post(url, inner), "badPublicKey")


# --- kid ------------------------------------------------------------------------------------
def split_kid(kid: str) -> tuple[str, str]:
    head, _, account_id = kid.rpartition("/")
    return head + "/", account_id


HOST = BASE_URL.split("//", 1)[1]  # the server's own host name (no port)

KIDS = [
    pytest.param(lambda k: k.replace(f"//{HOST}/", "//localhost/"), id="other-host-name"),
    pytest.param(lambda k: k.replace(f"//{HOST}/", "//127.0.0.2/"), id="other-host"),
    pytest.param(lambda k: k.replace("http://", "https://"), id="other-scheme"),
    pytest.param(lambda k: k.replace(f"//{HOST}/", f"//{HOST}:1/"), id="other-port"),
    pytest.param(lambda k: split_kid(k)[0] + split_kid(k)[1].upper(), id="upper-case-id"),
    pytest.param(lambda k: split_kid(k)[0] + "{" + split_kid(k)[1] + "}", id="braced-id"),
    pytest.param(lambda k: split_kid(k)[0] + "urn:uuid:" + split_kid(k)[1], id="urn-id"),
    pytest.param(lambda k: split_kid(k)[0] + split_kid(k)[1].replace("-", ""), id="hex-id"),
    pytest.param(lambda k: split_kid(k)[0] + split_kid(k)[1].replace("-", "%2D"),
                 id="percent-encoded-id"),
    pytest.param(lambda k: split_kid(k)[0] + "../account/" + split_kid(k)[1], id="dot-dot"),
    pytest.param(lambda k: k.replace("/account/", "/./account/"), id="dot-segment"),
    pytest.param(lambda k: k.replace("/account/", "//account/"), id="double-slash"),
    pytest.param(lambda k: k + "/", id="trailing-slash"),
    pytest.param(lambda k: k + "/orders", id="sub-resource"),
    pytest.param(lambda k: k + "?x=1", id="query"),
    pytest.param(lambda k: k + "#x", id="fragment"),
    pytest.param(lambda k: split_kid(k)[1], id="bare-id"),
    pytest.param(lambda k: split_kid(k)[0], id="no-id"),
]


@pytest.mark.parametrize("respell", KIDS)
def test_a_kid_that_is_not_exactly_an_account_url_is_malformed(
        alice: AcmeClient, respell: Callable[[str], str]) -> None:
    kid = respell(alice.kid)
    assert kid != alice.kid
    assert_problem(alice.post(alice.kid, kid=kid), "malformed")


def test_a_well_formed_kid_of_no_account_is_account_does_not_exist(alice: AcmeClient) -> None:
    kid = split_kid(alice.kid)[0] + str(uuid.uuid4())
    assert_problem(alice.post(alice.kid, kid=kid), "accountDoesNotExist")


def test_the_exact_kid_is_accepted(alice: AcmeClient) -> None:
    assert expect(alice.post(alice.kid), 200).json()["status"] == "valid"


def test_flattened_jws_helper_signs_what_the_server_accepts(alice: AcmeClient) -> None:
    """The hand-built JWS used above is the client's own format (no false negatives)."""
    nonce = alice.new_nonce()
    protected = {"alg": alice.alg, "nonce": nonce, "url": alice.kid, "kid": alice.kid}
    jws = flattened_jws(alice.key, alice.alg, protected, None)
    expect(alice.post(alice.kid, raw_body=json.dumps(jws).encode()), 200)
