"""acmeeh.authority.policy: the one rule for identifier errors (issue 12 item 3) and the
identifier policy of issue 11 (forbidden names, suffixes, ip ranges), table-driven.

Malformed text is `malformed`, a policy refusal is `rejectedIdentifier`, and each refused
identifier is a subproblem naming it (RFC 8555 §6.7.1). The HTTP path is covered by
tests/integration/test_identifier_policy.py.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from acmeeh.authority import policy
from acmeeh.protocol.identifiers import Identifier
from acmeeh.protocol.problems import Problem
from acmeeh.protocol.status import IdentifierType

M, R, U = "malformed", "rejectedIdentifier", "unsupportedIdentifier"


def rules(**overrides) -> SimpleNamespace:
    base = {"allowed_suffixes": (), "forbidden_names": (), "wildcards": True,
            "ip_addresses": True, "allowed_networks": (), "max_per_order": 100}
    return SimpleNamespace(**{**base, **overrides})


def dns(value: str) -> dict[str, str]:
    return {"type": "dns", "value": value}


def ip(value: str) -> dict[str, str]:
    return {"type": "ip", "value": value}


def refusal(raw, **overrides) -> Problem:
    with pytest.raises(Problem) as info:
        policy.screen(raw, rules(**overrides))
    return info.value


@pytest.mark.parametrize(
    ("raw", "overrides", "code"),
    [
        (dns("forbidden.test"), {"forbidden_names": ("forbidden.test",)}, R),
        (dns("www.forbidden.test"), {"forbidden_names": ("forbidden.test",)}, R),
        (dns("*.forbidden.test"), {"forbidden_names": ("forbidden.test",)}, R),
        (dns("other.test"), {"allowed_suffixes": ("internal.test",)}, R),
        (dns("*.w.internal.test"), {"wildcards": False}, R),
        (ip("10.0.0.1"), {"ip_addresses": False}, R),
        (ip("192.0.2.1"), {"allowed_networks": ("10.0.0.0/8",)}, R),
        # issue 11 item 8: special ranges are refused by policy
        (ip("127.0.0.1"), {}, R),
        (ip("::1"), {}, R),
        (ip("169.254.1.1"), {}, R),
        (ip("fe80::1"), {}, R),
        (ip("224.0.0.1"), {}, R),
        (ip("ff02::1"), {}, R),
        (ip("0.0.0.0"), {}, R),
        (ip("::"), {}, R),
        (ip("::ffff:10.0.0.1"), {}, R),
        (ip("::ffff:a00:1"), {"allowed_networks": ("10.0.0.0/8",)}, R),  # the v4 net is not it
        (ip("::10.0.0.1"), {}, R),
        # syntax and size are malformed
        (dns("Bücher.example"), {}, M),
        (dns("host.example."), {}, M),
        (dns("a..example"), {}, M),
        (dns("a" * 64 + ".example"), {}, M),
        (dns("*a.example"), {}, M),
        (dns("10.0.0.1"), {}, M),
        (ip("2001:DB8::1"), {}, M),
        (ip("10.0.0.01"), {}, M),
        ({"type": "email", "value": "a@b.test"}, {}, U),
    ],
)
def test_single_refusal(raw, overrides, code) -> None:
    problem = refusal([raw], **overrides)
    assert (problem.code, problem.status) == (code, 400)
    # RFC 8555 §6.7.1: the refusal names its identifier in a subproblem
    assert [s.identifier for s in problem.subproblems] == [raw]
    assert problem.to_dict()["subproblems"][0]["identifier"] == raw


@pytest.mark.parametrize(
    ("raw", "overrides", "want"),
    [
        (ip("127.0.0.1"), {"allowed_networks": ("127.0.0.0/8",)}, "127.0.0.1"),
        (ip("::1"), {"allowed_networks": ("::1/128",)}, "::1"),
        (ip("::ffff:10.0.0.1"), {"allowed_networks": ("::ffff:0:0/96",)}, "::ffff:a00:1"),
        (ip("10.1.2.3"), {}, "10.1.2.3"),
        (ip("10.1.2.3"), {"allowed_networks": ("10.0.0.0/8",)}, "10.1.2.3"),
        (dns("ok.internal.test"), {"allowed_suffixes": ("internal.test",)}, "ok.internal.test"),
        (dns("NOT-forbidden.test"), {"forbidden_names": ("forbidden.test",)}, "not-forbidden.test"),
    ],
)
def test_allowed(raw, overrides, want) -> None:
    assert [i.value for i in policy.screen([raw], rules(**overrides))] == [want]


def test_every_refused_identifier_is_a_subproblem_of_its_own_type() -> None:
    problem = refusal([dns("ok.test"), dns("forbidden.test"), dns("www.forbidden.test")],
                      forbidden_names=("forbidden.test",))
    assert problem.code == R
    assert [s.identifier["value"] for s in problem.subproblems] == [
        "forbidden.test", "www.forbidden.test"]


def test_mixed_refusals_are_compound_with_typed_subproblems() -> None:
    problem = refusal([dns("bad..name"), dns("ok.test"), dns("forbidden.test"), ip("::1")],
                      forbidden_names=("forbidden.test",))
    body = problem.to_dict()
    assert (problem.code, problem.status) == ("compound", 400)
    assert [(s["type"].rsplit(":", 1)[1], s["identifier"]["value"]) for s in body["subproblems"]] == [
        (M, "bad..name"), (R, "forbidden.test"), (R, "::1")]


def test_too_many_identifiers_is_malformed() -> None:
    problem = refusal([dns(f"h{i}.test") for i in range(3)], max_per_order=2)
    assert (problem.code, problem.status) == (M, 400)


def test_no_identifiers_is_malformed() -> None:
    assert refusal([]).code == M


def test_screen_dedupes_and_sorts() -> None:
    found = policy.screen([dns("b.test"), dns("A.test"), dns("a.test"), ip("10.0.0.1")], rules())
    assert found == [Identifier(IdentifierType.DNS, "a.test"), Identifier(IdentifierType.DNS, "b.test"),
                     Identifier(IdentifierType.IP, "10.0.0.1")]


def test_check_identifiers_applies_policy_to_canonical_identifiers() -> None:
    idents = [Identifier(IdentifierType.DNS, "x.forbidden.test"), Identifier(IdentifierType.IP, "::1")]
    with pytest.raises(Problem) as info:
        policy.check_identifiers(idents, rules(forbidden_names=("forbidden.test",)))
    assert info.value.code == R and len(info.value.subproblems) == 2
    policy.check_identifiers(idents[:1], rules())
