"""acmeeh.protocol.jws: keys, thumbprints, key policy, key change and EAB.

Every JWS here is built for real with josepy / cryptography keys.
"""

import json

import pytest
from josepy.jwk import JWKEC
from support.jose import ALL_ALGS, DROP, b64, flattened, jwk_of, problem_of

from acmeeh.protocol import jws
from acmeeh.protocol.jws import JWKOKP
from acmeeh.protocol.problems import Problem

# --- keys ------------------------------------------------------------------------------

RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvzq"
    "Y368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0"
    "fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)


@pytest.mark.parametrize(
    ("jwk", "want"),
    [
        # RFC 7638 §3.1
        (
            {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"},
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        ),
        # RFC 8037 Appendix A.3
        (
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
        ),
    ],
)
def test_thumbprint_vectors(jwk, want):
    assert jws.thumbprint(jws.parse_jwk(jwk)) == want


def test_rfc8037_eddsa_signature_vector():
    key = jws.parse_jwk(
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    )
    signing_input = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    signature = jws.b64url_decode(
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
        "s",
    )
    jws.verify_signature("EdDSA", key, signing_input, signature)
    with pytest.raises(Problem):
        jws.verify_signature("EdDSA", key, signing_input + b"x", signature)


def test_okp_jwk_roundtrip(keys):
    jwk = jwk_of(keys["ed"])
    again = jws.parse_jwk(jwk.to_json())
    assert again == jwk and hash(again) == hash(jwk) and "d" not in JWKOKP(key=keys["ed"]).to_json()
    assert JWKOKP.from_json(jwk.to_json()) == jwk


def test_jwk_equal_and_key_authorization(keys):
    a, b = jwk_of(keys["p256"]), jwk_of(keys["p256b"])
    assert jws.jwk_equal(a, a.to_json()) and jws.jwk_equal(a.to_json(), a)
    assert not jws.jwk_equal(a, b)
    assert jws.key_authorization("tok", a) == "tok." + jws.thumbprint(a)
    assert problem_of(jws.jwk_equal, a, {"kty": "oct", "k": "AA"}).code == "malformed"


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "P-256", "x": b64(b"\x00" * 32), "y": b64(b"\x00" * 32)},  # identity
        {"kty": "EC", "crv": "P-256", "x": b64(b"\x01" * 32), "y": b64(b"\x02" * 32)},  # off curve
        {"kty": "RSA", "n": b64(b"\xff" * 256), "e": b64(b"\x01")},  # exponent 1
    ],
    ids=["ec-identity", "ec-off-curve", "rsa-exponent-1"],
)
def test_a_jwk_that_parses_but_is_no_usable_key_is_bad_public_key(jwk):
    """RFC 8555 §6.7: badPublicKey, with a detail naming what is wrong."""
    problem = problem_of(jws.parse_jwk, jwk)
    assert (problem.code, problem.status) == ("badPublicKey", 400)
    assert "not a usable public key" in problem.detail


# --- key change (RFC 8555 §7.3.5) ------------------------------------------------------

KC_URL = "https://ca.example/acme/key-change"
ACCT = "https://ca.example/acme/acct/1"


def _inner(keys, *, new="p384", signer=None, alg="ES384", payload=None, **changes):
    hdr = {"alg": alg, "jwk": jwk_of(keys[new]).to_json(), "url": KC_URL}
    hdr.update(changes)
    hdr = {k: v for k, v in hdr.items() if v is not DROP}
    body = (
        payload
        if payload is not None
        else {"account": ACCT, "oldKey": jwk_of(keys["p256"]).to_json()}
    )
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return flattened(keys[signer or new], hdr, raw, sign_alg=alg)


def test_key_change_good(keys):
    new_jwk, payload = jws.parse_key_change_inner(_inner(keys), KC_URL, ALL_ALGS)
    assert jws.jwk_equal(new_jwk, jwk_of(keys["p384"]))
    assert payload["account"] == ACCT
    assert jws.jwk_equal(payload["oldKey"], jwk_of(keys["p256"]))
    assert not jws.jwk_equal(payload["oldKey"], new_jwk)


@pytest.mark.parametrize(
    ("label", "kwargs", "code"),
    [
        ("kid instead of jwk", {"jwk": DROP, "kid": ACCT}, "malformed"),
        ("jwk and kid", {"kid": ACCT}, "malformed"),
        ("nonce present", {"nonce": "abc"}, "malformed"),
        ("url differs", {"url": KC_URL + "/x"}, "malformed"),
        ("url missing", {"url": DROP}, "malformed"),
        ("wrong signer", {"signer": "p384", "new": "p256", "alg": "ES256"}, "malformed"),
        ("alg none", {"alg": "none"}, "badSignatureAlgorithm"),
        ("crit", {"crit": ["x"]}, "malformed"),
        ("payload not object", {"payload": b"[]"}, "malformed"),
        ("payload not json", {"payload": b"{"}, "malformed"),
        ("account missing", {"payload": {"oldKey": {"kty": "EC"}}}, "malformed"),
        ("account empty", {"payload": {"account": "", "oldKey": {"kty": "EC"}}}, "malformed"),
        ("oldKey missing", {"payload": {"account": ACCT}}, "malformed"),
        ("oldKey string", {"payload": {"account": ACCT, "oldKey": "k"}}, "malformed"),
    ],
)
def test_key_change_bad(keys, label, kwargs, code):
    if kwargs.get("alg") == "none":
        obj = _inner(keys)
        obj["protected"] = b64(
            json.dumps(
                {"alg": "none", "jwk": jwk_of(keys["p384"]).to_json(), "url": KC_URL}
            ).encode()
        )
    else:
        obj = _inner(keys, **kwargs)
    problem = problem_of(jws.parse_key_change_inner, obj, KC_URL, ALL_ALGS)
    assert problem.code == code, label


@pytest.mark.parametrize(
    "obj",
    ["string", [], {"protected": "e30", "payload": "", "signatures": []}, None],
)
def test_key_change_not_flattened(obj):
    assert problem_of(jws.parse_key_change_inner, obj, KC_URL, ALL_ALGS).code == "malformed"


def test_key_change_unprotected_header(keys):
    obj = {**_inner(keys), "header": {"kid": "x"}}
    assert problem_of(jws.parse_key_change_inner, obj, KC_URL, ALL_ALGS).code == "malformed"


# --- external account binding (RFC 8555 §7.3.4) ----------------------------------------

NA_URL = "https://ca.example/acme/new-account"
MAC_KEY = b"m" * 32


def _eab(keys, *, alg="HS256", key=MAC_KEY, payload=None, **changes):
    hdr = {"alg": alg, "kid": "kid-1", "url": NA_URL}
    hdr.update(changes)
    hdr = {k: v for k, v in hdr.items() if v is not DROP}
    raw = payload if payload is not None else json.dumps(jwk_of(keys["p256"]).to_json()).encode()
    if alg.startswith("HS"):
        return flattened(key, hdr, raw)
    return flattened(keys["rsa"], hdr, raw, sign_alg="RS256")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_eab_good(keys, alg):
    eab = _eab(keys, alg=alg)
    assert jws.eab_kid(eab) == "kid-1"
    account = jwk_of(keys["p256"])
    kid = jws.verify_eab(
        eab, hmac_key=MAC_KEY, expected_kid="kid-1", url=NA_URL, account_jwk=account
    )
    assert kid == "kid-1"
    assert (
        jws.verify_eab(eab, hmac_key=MAC_KEY, expected_kid=None, url=NA_URL, account_jwk=account)
        == "kid-1"
    )


@pytest.mark.parametrize(
    ("label", "kwargs", "verify", "code"),
    [
        ("kid mismatch", {}, {"expected_kid": "kid-2"}, "unauthorized"),
        ("wrong mac key", {"key": b"x" * 32}, {}, "unauthorized"),
        ("empty mac key", {}, {"hmac_key": b""}, "unauthorized"),
        ("url mismatch", {"url": NA_URL + "x"}, {}, "malformed"),
        ("url missing", {"url": DROP}, {}, "malformed"),
        ("kid missing", {"kid": DROP}, {"expected_kid": None}, "malformed"),
        ("nonce present", {"nonce": "n"}, {}, "malformed"),
        ("RS256 alg", {"alg": "RS256"}, {}, "malformed"),
        ("b64 false", {"b64": False}, {}, "malformed"),
        ("payload not account key", {}, {"account": "p384"}, "malformed"),
        ("payload not json", {"payload": b"xx"}, {}, "malformed"),
        ("payload private jwk", {"payload": "private"}, {}, "malformed"),
    ],
)
def test_eab_bad(keys, label, kwargs, verify, code):
    if kwargs.get("payload") == "private":
        kwargs["payload"] = json.dumps(JWKEC(key=keys["p256"]).to_json()).encode()
    eab = _eab(keys, **kwargs)
    args = {
        "hmac_key": MAC_KEY,
        "expected_kid": "kid-1",
        "url": NA_URL,
        "account_jwk": jwk_of(keys[verify.pop("account", "p256")]),
    }
    args.update(verify)
    problem = problem_of(jws.verify_eab, eab, **args)
    assert problem.code == code, label


@pytest.mark.parametrize("eab", [None, "x", {"protected": "e30"}, {}])
def test_eab_not_flattened(eab):
    assert problem_of(jws.eab_kid, eab).code == "malformed"
