"""acmeeh.protocol.problems: URNs, fixed statuses, RFC 7807 bodies."""

import pytest

from acmeeh.protocol import problems
from acmeeh.protocol.problems import URN_PREFIX, Problem

SIMPLE = [
    (problems.bad_nonce, "badNonce", 400),
    (problems.bad_public_key, "badPublicKey", 400),
    (problems.bad_csr, "badCSR", 400),
    (problems.bad_revocation_reason, "badRevocationReason", 400),
    (problems.already_revoked, "alreadyRevoked", 400),
    (problems.account_does_not_exist, "accountDoesNotExist", 400),
    (problems.unauthorized, "unauthorized", 403),
    (problems.rejected_identifier, "rejectedIdentifier", 400),
    (problems.unsupported_identifier, "unsupportedIdentifier", 400),
    (problems.invalid_contact, "invalidContact", 400),
    (problems.unsupported_contact, "unsupportedContact", 400),
    (problems.order_not_ready, "orderNotReady", 403),
    (problems.external_account_required, "externalAccountRequired", 400),
    (problems.connection, "connection", 400),
    (problems.dns, "dns", 400),
    (problems.incorrect_response, "incorrectResponse", 403),
    (problems.tls, "tls", 400),
    (problems.caa, "caa", 403),
    (problems.malformed, "malformed", 400),
]


@pytest.mark.parametrize(("make", "name", "status"), SIMPLE)
def test_simple_constructors(make, name, status):
    p = make("some detail")
    assert isinstance(p, Problem) and isinstance(p, Exception)
    assert p.type == URN_PREFIX + name == f"urn:ietf:params:acme:error:{name}"
    assert p.code == name
    assert p.status == status
    assert p.to_dict() == {"type": p.type, "detail": "some detail", "status": status}
    assert p.headers == {} and p.subproblems == () and p.identifier is None


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (problems.not_found, 404),
        (problems.method_not_allowed, 405),
        (problems.conflict, 409),
        (problems.payload_too_large, 413),
        (problems.unsupported_media_type, 415),
    ],
)
def test_malformed_variants(make, status):
    p = make("x") if make is problems.conflict else make()
    assert p.code == "malformed" and p.status == status and p.detail


@pytest.mark.parametrize("status", [400, 404, 405, 409, 413, 415])
def test_malformed_allowed_statuses(status):
    assert problems.malformed("x", status).status == status


@pytest.mark.parametrize("status", [200, 401, 403, 500, 429])
def test_malformed_refuses_other_statuses(status):
    with pytest.raises(ValueError):
        problems.malformed("x", status)


def test_identifier_is_rendered():
    p = problems.rejected_identifier("no", identifier={"type": "dns", "value": "a.example"})
    assert p.to_dict()["identifier"] == {"type": "dns", "value": "a.example"}


def test_compound_with_subproblems():
    subs = [
        problems.rejected_identifier("bad", identifier={"type": "dns", "value": "a.example"}),
        problems.unsupported_identifier("odd", identifier={"type": "email", "value": "x"}),
    ]
    body = problems.compound("two failures", subs).to_dict()
    assert body["type"] == URN_PREFIX + "compound" and body["status"] == 400
    assert body["subproblems"] == [
        {
            "type": URN_PREFIX + "rejectedIdentifier",
            "detail": "bad",
            "identifier": {"type": "dns", "value": "a.example"},
        },
        {
            "type": URN_PREFIX + "unsupportedIdentifier",
            "detail": "odd",
            "identifier": {"type": "email", "value": "x"},
        },
    ]


def test_bad_signature_algorithm_lists_algorithms():
    body = problems.bad_signature_algorithm("no", ["ES256", "RS256"]).to_dict()
    assert body["algorithms"] == ["ES256", "RS256"] and body["status"] == 400


def test_server_internal_never_leaks():
    p = problems.server_internal("psycopg.OperationalError: password=hunter2")
    body = p.to_dict()
    assert p.status == 500 and "hunter2" not in repr(body) and "hunter2" not in str(p)
    assert p.internal and "hunter2" in p.internal
    assert body == {"type": URN_PREFIX + "serverInternal", "detail": p.detail, "status": 500}


def test_user_action_required():
    p = problems.user_action_required(
        "agree", "https://ca.example/agree?t=1", terms_of_service="https://ca.example/tos"
    )
    assert p.status == 403
    assert p.to_dict()["instance"] == "https://ca.example/agree?t=1"
    assert p.headers == {"Link": '<https://ca.example/tos>;rel="terms-of-service"'}
    bare = problems.user_action_required("agree")
    assert "instance" not in bare.to_dict() and bare.headers == {}


@pytest.mark.parametrize(("after", "header"), [(None, None), (30, "30"), (-5, "0")])
def test_rate_limited(after, header):
    p = problems.rate_limited("slow down", after)
    assert p.status == 429 and p.headers.get("Retry-After") == header


def test_raise_and_catch():
    with pytest.raises(Problem) as info:
        raise problems.bad_nonce("stale")
    assert info.value.code == "badNonce" and "badNonce" in repr(info.value)
