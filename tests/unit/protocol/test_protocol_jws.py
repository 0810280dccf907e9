"""acmeeh.protocol.jws: parsing and verifying request JWS (RFC 8555 §6.2).

Every JWS here is built for real with josepy / cryptography keys.
"""

import base64
import json
import random

import pytest
from josepy.jwk import JWKEC, JWKRSA, JWKOct
from support.jose import ALL_ALGS, DROP, b64, flattened, jwk_of, problem_of

from acmeeh.protocol import jws
from acmeeh.protocol.problems import Problem

URL = "https://ca.example/acme/new-order"


# --- helpers ---------------------------------------------------------------------------


def to_body(obj) -> bytes:
    return json.dumps(obj).encode()


def header(key, alg: str, /, **extra) -> dict:
    out = {"alg": alg, "nonce": "n0nce", "url": URL, "jwk": jwk_of(key).to_json()}
    out.update(extra)
    return {k: v for k, v in out.items() if v is not DROP}


# --- happy paths -----------------------------------------------------------------------

GOOD = [("rsa", a) for a in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")] + [
    ("p256", "ES256"),
    ("p384", "ES384"),
    ("p521", "ES512"),
    ("ed", "EdDSA"),
]


@pytest.mark.parametrize(("name", "alg"), GOOD)
def test_parse_and_verify_with_jwk(keys, name, alg):
    key = keys[name]
    body = to_body(flattened(key, header(key, alg), b'{"a": 1}'))
    parsed = jws.parse(body, ALL_ALGS)
    assert (parsed.alg, parsed.nonce, parsed.url, parsed.kid) == (alg, "n0nce", URL, None)
    assert parsed.payload == b'{"a": 1}' and parsed.protected["alg"] == alg
    assert jws.thumbprint(parsed.jwk) == jws.thumbprint(jwk_of(key))
    parsed.verify(parsed.jwk)


@pytest.mark.parametrize(("name", "alg"), GOOD)
def test_parse_and_verify_with_kid(keys, name, alg):
    key = keys[name]
    hdr = header(key, alg, jwk=DROP, kid="https://ca.example/acme/acct/1")
    parsed = jws.parse(to_body(flattened(key, hdr)), ALL_ALGS)
    assert parsed.jwk is None and parsed.kid == "https://ca.example/acme/acct/1"
    parsed.verify(jwk_of(key))


def test_post_as_get_payload_is_empty(keys):
    key = keys["p256"]
    obj = flattened(key, header(key, "ES256"), b"")
    assert obj["payload"] == ""
    parsed = jws.parse(to_body(obj), ["ES256"])
    assert parsed.payload == b""
    parsed.verify(parsed.jwk)


# --- header policy ---------------------------------------------------------------------

RSA_PRIVATE = "rsa-private"
BAD_HEADERS = [
    ("alg none", {"alg": "none"}, "badSignatureAlgorithm", "not accepted"),
    ("alg not allowed", {"alg": "ES256K"}, "badSignatureAlgorithm", "not accepted"),
    ("alg HS256", {"alg": "HS256"}, "badSignatureAlgorithm", "not accepted"),
    ("alg missing", {"alg": DROP}, "malformed", "'alg'"),
    ("alg number", {"alg": 256}, "malformed", "'alg'"),
    ("alg empty", {"alg": ""}, "malformed", "'alg'"),
    (
        "jwk and kid",
        {"kid": "https://ca.example/acct/1"},
        "malformed",
        "exactly one of jwk and kid",
    ),
    ("neither jwk nor kid", {"jwk": DROP}, "malformed", "exactly one of jwk and kid"),
    ("kid empty", {"jwk": DROP, "kid": ""}, "malformed", "'kid'"),
    ("kid number", {"jwk": DROP, "kid": 1}, "malformed", "'kid'"),
    ("nonce missing", {"nonce": DROP}, "badNonce", "'nonce'"),
    ("nonce empty", {"nonce": ""}, "badNonce", "'nonce'"),
    ("nonce number", {"nonce": 7}, "badNonce", "'nonce'"),
    ("url missing", {"url": DROP}, "malformed", "'url'"),
    ("url empty", {"url": ""}, "malformed", "'url'"),
    ("url null", {"url": None}, "malformed", "'url'"),
    ("crit", {"crit": ["exp"], "exp": 1}, "malformed", "'crit'"),
    ("b64 false", {"b64": False}, "malformed", "'b64'"),
    ("b64 true", {"b64": True}, "malformed", "'b64'"),
    ("jwk string", {"jwk": "key"}, "malformed", "jwk must be"),
    ("jwk oct", {"jwk": {"kty": "oct", "k": "c2VjcmV0"}}, "malformed", "oct"),
    ("jwk unknown kty", {"jwk": {"kty": "XYZ"}}, "malformed", "key type"),
    ("jwk no kty", {"jwk": {"n": "AQAB", "e": "AQAB"}}, "malformed", "key type"),
    ("jwk rsa private", {"jwk": RSA_PRIVATE}, "malformed", "private key"),
    ("jwk ec private", {"jwk": "ec-private"}, "malformed", "private key"),
    ("jwk okp private", {"jwk": "okp-private"}, "malformed", "private key"),
    ("jwk ec off curve", {"jwk": "ec-off-curve"}, "badPublicKey", "not a usable public key"),
    ("jwk ec short x", {"jwk": "ec-short"}, "malformed", "wrong length"),
    (
        "jwk ec P-192",
        {"jwk": {"kty": "EC", "crv": "P-192", "x": "AA", "y": "AA"}},
        "malformed",
        "crv",
    ),
    (
        "jwk okp Ed448",
        {"jwk": {"kty": "OKP", "crv": "Ed448", "x": b64(b"\1" * 57)}},
        "malformed",
        "Ed25519",
    ),
    (
        "jwk okp short",
        {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(b"\1" * 31)}},
        "malformed",
        "wrong length",
    ),
    ("jwk rsa even e", {"jwk": "rsa-even-e"}, "badPublicKey", "not a usable public key"),
    ("jwk rsa huge e", {"jwk": "rsa-huge-e"}, "malformed", "too large"),
    ("jwk rsa huge n", {"jwk": "rsa-huge-n"}, "malformed", "too large"),
    ("jwk alg other", {"jwk": "ec-alg-ES384"}, "malformed", "is not the JWS alg"),
    ("jwk alg lower case", {"jwk": "ec-alg-es256"}, "malformed", "is not the JWS alg"),
    ("jwk alg number", {"jwk": "ec-alg-256"}, "malformed", "is not the JWS alg"),
    ("jwk rsa n not b64", {"jwk": {"kty": "RSA", "n": "!!", "e": "AQAB"}}, "malformed", "'n'"),
    ("jwk rsa n number", {"jwk": {"kty": "RSA", "n": 12345, "e": "AQAB"}}, "malformed", "'n'"),
]


def _special_jwk(keys, tag):
    pub = jwk_of(keys["p256"]).to_json()
    if tag == RSA_PRIVATE:
        return JWKRSA(key=keys["rsa"]).to_json()
    if tag == "ec-private":
        return JWKEC(key=keys["p256"]).to_json()
    if tag == "okp-private":
        raw = keys["ed"].private_bytes_raw()
        return {**jwk_of(keys["ed"]).to_json(), "d": b64(raw)}
    if tag == "ec-off-curve":
        y = bytearray(base64.urlsafe_b64decode(pub["y"] + "=="))
        y[-1] ^= 1
        return {**pub, "y": b64(bytes(y))}
    if tag == "ec-short":
        return {**pub, "x": b64(b"\1" * 31)}
    if tag == "rsa-huge-e":
        return {**jwk_of(keys["rsa"]).to_json(), "e": b64(b"\x01" * 40)}
    if tag == "rsa-huge-n":
        return {"kty": "RSA", "n": b64(b"\xff" * 2049), "e": "AQAB"}
    if isinstance(tag, str) and tag.startswith("ec-alg-"):
        alg = tag.removeprefix("ec-alg-")
        return {**pub, "alg": int(alg) if alg.isdigit() else alg}
    if tag == "rsa-even-e":
        return {**jwk_of(keys["rsa"]).to_json(), "e": b64(b"\x01\x00\x00")}
    return tag


@pytest.mark.parametrize(
    ("label", "change", "code", "fragment"), BAD_HEADERS, ids=[b[0] for b in BAD_HEADERS]
)
def test_bad_headers(keys, label, change, code, fragment):
    key = keys["p256"]
    change = {k: _special_jwk(keys, v) if k == "jwk" else v for k, v in change.items()}
    hdr = header(key, "ES256", **change)
    obj = flattened(key, hdr, sign_alg="ES256")
    problem = problem_of(jws.parse, to_body(obj), (*ALL_ALGS, "HS256", "none"))
    assert (problem.code, problem.status) == (code, 400), problem.detail
    assert fragment in problem.detail
    if code == "badSignatureAlgorithm":
        assert problem.to_dict()["algorithms"] == list(ALL_ALGS)


def test_jwk_alg_equal_to_the_jws_alg_is_accepted(keys):
    key = keys["p256"]
    hdr = header(key, "ES256", jwk={**jwk_of(key).to_json(), "alg": "ES256"})
    jws.parse(to_body(flattened(key, hdr)), ALL_ALGS).verify(jwk_of(key))


@pytest.mark.parametrize(("limit", "code"), [(2048, None), (2047, "badPublicKey")])
def test_rsa_jwk_over_the_size_limit_is_bad_public_key(keys, limit, code):
    """Refused while parsing: no signature is checked with a key over the largest accepted size."""
    key = keys["rsa"]
    body = to_body(flattened(key, header(key, "RS256")))
    if code is None:
        assert jws.parse(body, ALL_ALGS, limit).jwk is not None
    else:
        assert problem_of(jws.parse, body, ALL_ALGS, limit).code == code


def test_hmac_never_accepted_even_when_listed():
    secret = b"s" * 32
    hdr = {"alg": "HS256", "nonce": "n", "url": URL, "jwk": JWKOct(key=secret).to_json()}
    obj = flattened(secret, hdr)
    problem = problem_of(jws.parse, to_body(obj), ["HS256", "ES256"])
    assert problem.code == "badSignatureAlgorithm" and problem.extra["algorithms"] == ["ES256"]


def test_allow_list_is_honoured(keys):
    key = keys["rsa"]
    body = to_body(flattened(key, header(key, "RS256")))
    problem = problem_of(jws.parse, body, ["ES256", "EdDSA"])
    assert problem.code == "badSignatureAlgorithm" and problem.extra["algorithms"] == [
        "ES256",
        "EdDSA",
    ]


# --- envelope --------------------------------------------------------------------------


def _envelopes(obj):
    p, s = obj["protected"], obj["signature"]
    dup = b64(b'{"alg":"ES256","alg":"none","nonce":"n","url":"u","kid":"k"}')
    return [
        ("not json", b"not json"),
        ("empty body", b""),
        ("json array", b"[]"),
        ("json string", b'"x"'),
        ("non utf-8", b"\xff\xfe{}"),
        ("deep nesting", b"[" * 100_000),
        (
            "general serialization",
            to_body({"payload": obj["payload"], "signatures": [{"protected": p, "signature": s}]}),
        ),
        ("unprotected header", to_body({**obj, "header": {"kid": "x"}})),
        ("extra member", to_body({**obj, "extra": 1})),
        ("missing signature", to_body({"protected": p, "payload": obj["payload"]})),
        ("protected bad b64", to_body({**obj, "protected": "!!" + p})),
        ("protected padded", to_body({**obj, "protected": p + "=" * (-len(p) % 4 or 4)})),
        ("protected not json", to_body({**obj, "protected": b64(b"nope")})),
        ("protected array", to_body({**obj, "protected": b64(b"[1]")})),
        ("protected empty", to_body({**obj, "protected": ""})),
        ("protected number", to_body({**obj, "protected": 5})),
        ("protected duplicate", to_body({**obj, "protected": dup})),
        ("protected NaN", to_body({**obj, "protected": b64(b'{"alg": NaN}')})),
        ("payload bad b64", to_body({**obj, "payload": "a+b/"})),
        ("payload one char", to_body({**obj, "payload": "a"})),
        ("payload non-canonical", to_body({**obj, "payload": "e31"})),
        ("payload null", to_body({**obj, "payload": None})),
        ("signature list", to_body({**obj, "signature": [s]})),
    ]


def test_empty_signature_parses_then_fails_verification(keys):
    """An unsigned JWS reaches the alg check (RFC 8555 §6.2), then verification refuses it."""
    key = keys["p256"]
    obj = flattened(key, header(key, "ES256"))
    parsed = jws.parse(to_body({**obj, "signature": ""}), ALL_ALGS)
    problem = problem_of(parsed.verify, jwk_of(key))
    assert (problem.code, problem.status) == ("malformed", 400)


def test_unsigned_none_is_bad_signature_algorithm(keys):
    key = keys["p256"]
    obj = flattened(key, header(key, "ES256"))
    hdr = json.loads(jws.b64url_decode(obj["protected"], "h"))
    hdr["alg"] = "none"
    body = {
        "protected": jws.b64url_encode(json.dumps(hdr).encode()),
        "payload": obj["payload"],
        "signature": "",
    }
    problem = problem_of(jws.parse, to_body(body), ALL_ALGS)
    assert (problem.code, problem.status) == ("badSignatureAlgorithm", 400)


def test_bad_envelopes(keys):
    key = keys["p256"]
    obj = flattened(key, header(key, "ES256"))
    for label, body in _envelopes(obj):
        problem = problem_of(jws.parse, body, ALL_ALGS)
        assert (problem.code, problem.status) == ("malformed", 400), label


# --- signatures ------------------------------------------------------------------------


def test_wrong_signature(keys):
    hdr = header(keys["p256"], "ES256")
    parsed = jws.parse(to_body(flattened(keys["p256b"], hdr)), ALL_ALGS)
    assert problem_of(parsed.verify, parsed.jwk).code == "malformed"


def test_tampered_payload(keys):
    key = keys["ed"]
    obj = flattened(key, header(key, "EdDSA"), b'{"a":1}')
    obj["payload"] = b64(b'{"a":2}')
    parsed = jws.parse(to_body(obj), ALL_ALGS)
    assert problem_of(parsed.verify, parsed.jwk).code == "malformed"


@pytest.mark.parametrize(
    ("signer", "alg", "verifier"),
    [
        ("rsa", "RS256", "p256"),  # RSA alg, EC key
        ("p256", "ES256", "rsa"),  # EC alg, RSA key
        ("p384", "ES256", "p384"),  # ES256 bound to P-256 (RFC 7518 §3.4)
        ("p256", "ES384", "p256"),
        ("ed", "EdDSA", "p256"),
        ("rsa", "PS256", "ed"),
        ("p256", "ES256", "oct"),
    ],
)
def test_key_type_must_match_alg(keys, signer, alg, verifier):
    hdr = header(keys[signer], alg, jwk=DROP, kid="k")
    parsed = jws.parse(to_body(flattened(keys[signer], hdr)), ALL_ALGS)
    key = JWKOct(key=b"x" * 32) if verifier == "oct" else jwk_of(keys[verifier])
    assert problem_of(parsed.verify, key).code == "malformed"


def test_verify_accepts_private_jwk(keys):
    key = keys["rsa"]
    parsed = jws.parse(to_body(flattened(key, header(key, "RS256"))), ALL_ALGS)
    parsed.verify(JWKRSA(key=key))


def test_mutations_only_raise_problems(keys):
    """Bounded fuzz: any mangled body yields a Problem (or a valid parse), nothing else."""
    key = keys["p256"]
    good = to_body(flattened(key, header(key, "ES256")))
    rng = random.Random(8555)
    for _ in range(400):
        body = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            body[rng.randrange(len(body))] = rng.randrange(256)
        body = bytes(body[: rng.randint(0, len(body))] if rng.random() < 0.2 else body)
        try:
            parsed = jws.parse(body, ALL_ALGS)
            parsed.verify(jwk_of(key))
        except Problem as problem:
            assert problem.status == 400
