"""acmeeh.protocol.messages: request payload tables, good and bad."""

import base64
import json

import pytest

from acmeeh.protocol.messages import (
    AccountUpdate,
    AuthorizationUpdate,
    Finalize,
    KeyChange,
    NewAccount,
    NewOrder,
    Revocation,
)
from acmeeh.protocol.problems import Problem
from acmeeh.protocol.status import RevocationReason


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def enc(obj) -> bytes:
    return json.dumps(obj).encode()


EAB = {"protected": "e30", "payload": "e30", "signature": "AA"}
JWS = {"protected": "e30", "payload": "", "signature": "AA"}

GOOD = [
    (
        NewAccount,
        {},
        {
            "contact": None,
            "terms_of_service_agreed": None,
            "only_return_existing": False,
            "external_account_binding": None,
        },
    ),
    (
        NewAccount,
        {"contact": ["mailto:a@example.com"], "termsOfServiceAgreed": True},
        {"contact": ("mailto:a@example.com",), "terms_of_service_agreed": True},
    ),
    (NewAccount, {"onlyReturnExisting": True}, {"only_return_existing": True}),
    (NewAccount, {"onlyReturnExisting": None, "contact": None}, {"only_return_existing": False}),
    (NewAccount, {"externalAccountBinding": EAB}, {"external_account_binding": EAB}),
    (NewAccount, {"contact": [], "unknownExtension": {"x": 1}}, {"contact": ()}),
    (AccountUpdate, {}, {"contact": None, "status": None}),
    (AccountUpdate, {"contact": []}, {"contact": ()}),
    (AccountUpdate, {"status": "deactivated"}, {"status": "deactivated"}),
    (AccountUpdate, {"termsOfServiceAgreed": True}, {"terms_of_service_agreed": True}),
    (
        NewOrder,
        {"identifiers": [{"type": "dns", "value": "example.com"}]},
        {
            "identifiers": ({"type": "dns", "value": "example.com"},),
            "not_before": None,
            "not_after": None,
            "replaces": None,
            "profile": None,
        },
    ),
    (
        NewOrder,
        {
            "identifiers": [{"type": "ip", "value": "::1", "extra": 1}],
            "notBefore": "2026-01-01T00:00:00Z",
            "notAfter": "2026-02-01T00:00:00Z",
            "replaces": "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
            "profile": "tlsserver",
        },
        {
            "identifiers": ({"type": "ip", "value": "::1"},),
            "not_before": "2026-01-01T00:00:00Z",
            "not_after": "2026-02-01T00:00:00Z",
            "replaces": "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
            "profile": "tlsserver",
        },
    ),
    (Finalize, {"csr": b64(b"\x30\x82der")}, {"csr": b"\x30\x82der"}),
    (AuthorizationUpdate, {"status": "deactivated"}, {"status": "deactivated"}),
    (Revocation, {"certificate": b64(b"\x30cert")}, {"certificate": b"\x30cert", "reason": None}),
    (
        Revocation,
        {"certificate": b64(b"\x30cert"), "reason": 1},
        {"reason": RevocationReason.KEY_COMPROMISE},
    ),
    (Revocation, {"certificate": b64(b"\x30cert"), "reason": 0}, {"reason": 0}),
    (KeyChange, JWS, {"protected": "e30", "payload": "", "signature": "AA", "jws": JWS}),
]


@pytest.mark.parametrize(("cls", "obj", "want"), GOOD)
def test_good(cls, obj, want):
    msg = cls.parse(enc(obj))
    for name, value in want.items():
        assert getattr(msg, name) == value, name


BAD = [
    (NewAccount, b"", "malformed", "POST-as-GET"),
    (NewAccount, b"not json", "malformed", "not valid JSON"),
    (NewAccount, b"[]", "malformed", "JSON object"),
    (NewAccount, b'"x"', "malformed", "JSON object"),
    (NewAccount, b"\xff", "malformed", "not valid JSON"),
    (NewAccount, enc({"contact": "mailto:a@example.com"}), "malformed", "'contact'"),
    (NewAccount, enc({"contact": [1]}), "malformed", "'contact'"),
    (NewAccount, enc({"termsOfServiceAgreed": "yes"}), "malformed", "termsOfServiceAgreed"),
    (NewAccount, enc({"onlyReturnExisting": 1}), "malformed", "onlyReturnExisting"),
    (NewAccount, enc({"externalAccountBinding": "x"}), "malformed", "externalAccountBinding"),
    (AccountUpdate, enc({"status": 5}), "malformed", "'status'"),
    (AccountUpdate, enc({"contact": {"a": 1}}), "malformed", "'contact'"),
    (NewOrder, enc({}), "malformed", "identifiers"),
    (NewOrder, enc({"identifiers": []}), "malformed", "non-empty"),
    (NewOrder, enc({"identifiers": None}), "malformed", "non-empty"),
    (NewOrder, enc({"identifiers": {"type": "dns"}}), "malformed", "non-empty"),
    (NewOrder, enc({"identifiers": ["example.com"]}), "malformed", "object"),
    (NewOrder, enc({"identifiers": [{"type": "dns"}]}), "malformed", "'value'"),
    (NewOrder, enc({"identifiers": [{"type": 1, "value": "a"}]}), "malformed", "'type'"),
    (
        NewOrder,
        enc({"identifiers": [{"type": "dns", "value": "a"}], "notBefore": 5}),
        "malformed",
        "notBefore",
    ),
    (
        NewOrder,
        enc({"identifiers": [{"type": "dns", "value": "a"}], "replaces": []}),
        "malformed",
        "replaces",
    ),
    (Finalize, enc({}), "malformed", "csr"),
    (Finalize, enc({"csr": 5}), "malformed", "'csr'"),
    (Finalize, enc({"csr": ""}), "malformed", "empty"),
    (Finalize, enc({"csr": "MIIB+/=="}), "malformed", "base64url"),
    (Finalize, enc({"csr": "-----BEGIN"}), "malformed", "base64url"),
    (AuthorizationUpdate, enc({}), "malformed", "status"),
    (AuthorizationUpdate, enc({"status": None}), "malformed", "'status'"),
    (Revocation, enc({"reason": 1}), "malformed", "certificate"),
    (Revocation, enc({"certificate": "!!"}), "malformed", "base64url"),
    (Revocation, enc({"certificate": "MA", "reason": "1"}), "malformed", "'reason'"),
    (Revocation, enc({"certificate": "MA", "reason": True}), "malformed", "'reason'"),
    (Revocation, enc({"certificate": "MA", "reason": 1.5}), "malformed", "'reason'"),
    (Revocation, enc({"certificate": "MA", "reason": 7}), "badRevocationReason", "7"),
    (Revocation, enc({"certificate": "MA", "reason": 11}), "badRevocationReason", "11"),
    (Revocation, enc({"certificate": "MA", "reason": -1}), "badRevocationReason", "-1"),
    (KeyChange, enc({"protected": "e30", "payload": ""}), "malformed", "exactly"),
    (KeyChange, enc({**JWS, "header": {}}), "malformed", "unprotected"),
    (KeyChange, enc({"payload": "", "signatures": []}), "malformed", "general"),
    (KeyChange, enc({**JWS, "extra": 1}), "malformed", "exactly"),
    (KeyChange, enc({**JWS, "payload": 5}), "malformed", "'payload'"),
]


@pytest.mark.parametrize(("cls", "payload", "code", "fragment"), BAD)
def test_bad(cls, payload, code, fragment):
    with pytest.raises(Problem) as info:
        cls.parse(payload)
    assert (info.value.code, info.value.status) == (code, 400)
    assert fragment in info.value.detail


def test_from_object_and_round_trip():
    msg = Finalize.from_object({"csr": b64(b"abc")})
    assert msg.to_partial_json() == {"csr": b64(b"abc")}
    with pytest.raises(Problem):
        Finalize.from_object({})
