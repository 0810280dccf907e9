"""The shipped templates render every kind; overrides in smtp.templates_path win file by file;
HTML is escaped, text is not; undefined variables and broken templates are errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from acmeeh.notify import Kind, TemplateError, Templates

CERT = {
    "serial": "0a1b2c3d4e", "names": ["www.example.test", "example.test"],
    "not_before": "2026-01-01T00:00:00+00:00", "not_after": "2026-04-01T12:30:00+00:00",
}
COMMON = {"recipient": "owner@example.test", "server_url": "https://acme.example.test", "kind": ""}
CONTEXTS = {
    Kind.CERTIFICATE_ISSUED: CERT,
    Kind.CERTIFICATE_REVOKED: {**CERT, "revoked_at": "2026-02-02T00:00:00+00:00",
                               "reason": "keyCompromise"},
    Kind.EXPIRATION_WARNING: {**CERT, "days_left": 7, "threshold_days": 7},
    Kind.ACCOUNT_DEACTIVATED: {"account_id": "5f0c", "deactivated_at": "2026-03-03T00:00:00Z"},
    Kind.CERTIFICATE_REVOKED_BY_ADMIN: {**CERT, "revoked_at": "2026-02-02T00:00:00+00:00",
                                        "reason": "superseded", "operator": "alice"},
    Kind.ACCOUNT_KEY_CHANGED: {"account_id": "5f0c", "old_thumbprint": "oldTP",
                               "new_thumbprint": "newTP", "changed_at": "2026-03-03T00:00:00Z"},
    Kind.ORDER_FAILED: {"order_id": "9e1d", "identifiers": ["a.example.test", "b.example.test"],
                        "error_type": "unauthorized", "failed_at": "2026-03-04T00:00:00Z",
                        "error_detail": "validation of a.example.test failed: refused",
                        "validation_error": {"type": "urn:ietf:params:acme:error:connection",
                                             "detail": "connection refused",
                                             "identifier": {"type": "dns",
                                                            "value": "a.example.test"}}},
    Kind.EAB_KEY_USED: {"kid": "kid-abc", "label": "team-a", "account_id": "5f0c",
                        "used_at": "2026-03-05T00:00:00Z", "admin": "alice"},
}


@pytest.mark.parametrize(
    ("kind", "in_subject", "in_body"),
    [
        (Kind.CERTIFICATE_ISSUED, "www.example.test and 1 more",
         ["0a1b2c3d4e", "www.example.test, example.test", "2026-04-01 12:30:00 UTC"]),
        (Kind.CERTIFICATE_REVOKED, "serial 0a1b2c3d4e", ["keyCompromise", "2026-02-02 00:00:00 UTC"]),
        (Kind.EXPIRATION_WARNING, "expires in 7 days", ["0a1b2c3d4e", "2026-04-01 12:30:00 UTC"]),
        (Kind.ACCOUNT_DEACTIVATED, "ACME account deactivated", ["5f0c", "2026-03-03 00:00:00 UTC"]),
        (Kind.CERTIFICATE_REVOKED_BY_ADMIN, "revoked by the CA", ["superseded", "operator"]),
        (Kind.ACCOUNT_KEY_CHANGED, "key changed", ["oldTP", "newTP", "2026-03-03 00:00:00 UTC"]),
        (Kind.ORDER_FAILED, "order failed for a.example.test and 1 more",
         ["9e1d", "validation of a.example.test failed: refused (unauthorized)",
          "connection refused (urn:ietf:params:acme:error:connection) for a.example.test"]),
        (Kind.EAB_KEY_USED, "EAB key kid-abc was used", ["Hello alice", "team-a", "5f0c"]),
    ],
)
def test_shipped_templates(kind: Kind, in_subject: str, in_body: list[str]) -> None:
    rendered = Templates().render(kind, {**COMMON, **CONTEXTS[kind]})
    assert in_subject in rendered.subject
    assert "\n" not in rendered.subject
    for text in in_body:
        assert text in rendered.text
    assert "https://acme.example.test" in rendered.text  # the shared footer
    assert rendered.html is None


def test_every_kind_loads() -> None:
    Templates().check()
    assert set(CONTEXTS) == set(Kind)


def test_order_failed_without_a_validation_error() -> None:
    context = {**COMMON, **CONTEXTS[Kind.ORDER_FAILED], "validation_error": None}
    text = Templates().render(Kind.ORDER_FAILED, context).text
    assert "Validation:" not in text and "(unauthorized)" in text


def test_one_new_kind_overridden_alone(tmp_path: Path) -> None:
    """Templates are overridden per kind: one file for order_failed, the rest shipped."""
    (tmp_path / "order_failed.txt.j2").write_text(
        "{% block subject %}[PKI] order {{ order_id }} failed{% endblock %}"
        "{% block body %}{{ error_detail }}{% endblock %}")
    templates = Templates(tmp_path)
    templates.check()
    custom = templates.render(Kind.ORDER_FAILED, {**COMMON, **CONTEXTS[Kind.ORDER_FAILED]})
    assert (custom.subject, custom.text) == ("[PKI] order 9e1d failed",
                                             "validation of a.example.test failed: refused")
    shipped = templates.render(Kind.ACCOUNT_KEY_CHANGED,
                               {**COMMON, **CONTEXTS[Kind.ACCOUNT_KEY_CHANGED]})
    assert shipped.subject == "ACME account key changed"


def test_override_wins_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "certificate_issued.txt.j2").write_text(
        "{% block subject %}[Corp PKI] {{ serial }}{% endblock %}"
        "{% block body %}Custom body for {{ names | join(' ') }} until {{ not_after | datetime }}{% endblock %}")
    templates = Templates(tmp_path)
    custom = templates.render(Kind.CERTIFICATE_ISSUED, {**COMMON, **CERT})
    assert custom.subject == "[Corp PKI] 0a1b2c3d4e"
    assert custom.text == "Custom body for www.example.test example.test until 2026-04-01 12:30:00 UTC"
    # Kinds without an override still use the shipped template.
    shipped = templates.render(Kind.EXPIRATION_WARNING, {**COMMON, **CONTEXTS[Kind.EXPIRATION_WARNING]})
    assert "expires in 7 days" in shipped.subject


def test_html_override_is_escaped_text_is_not(tmp_path: Path) -> None:
    (tmp_path / "certificate_issued.txt.j2").write_text(
        "{% block subject %}s{% endblock %}{% block body %}{{ names | first }}{% endblock %}")
    (tmp_path / "certificate_issued.html.j2").write_text(
        "{% block body %}<p>{{ names | first }}</p>{% endblock %}")
    context = {**COMMON, **CERT, "names": ["<b>x</b>.example.test"]}
    rendered = Templates(tmp_path).render(Kind.CERTIFICATE_ISSUED, context)
    assert rendered.text == "<b>x</b>.example.test"
    assert rendered.html == "<p>&lt;b&gt;x&lt;/b&gt;.example.test</p>"


@pytest.mark.parametrize(
    ("files", "kind", "context", "message"),
    [
        ({}, "no_such_kind", CERT, "unknown notification kind"),
        ({}, Kind.CERTIFICATE_ISSUED, {"serial": "1"}, "UndefinedError"),
        ({"certificate_issued.txt.j2": "{% block body %}b{% endblock %}"},
         Kind.CERTIFICATE_ISSUED, CERT, "no {% block subject %}"),
        ({"certificate_issued.txt.j2": "{% block subject %}{% endblock %}{% block body %}b{% endblock %}"},
         Kind.CERTIFICATE_ISSUED, CERT, "subject block rendered empty"),
        ({"certificate_issued.txt.j2": "{% block subject %}{{ serial {% endblock %}"},
         Kind.CERTIFICATE_ISSUED, CERT, "TemplateSyntaxError"),
        ({"certificate_issued.txt.j2": "{% block subject %}{{ secret_key }}{% endblock %}"
                                       "{% block body %}b{% endblock %}"},
         Kind.CERTIFICATE_ISSUED, CERT, "secret_key"),
    ],
    ids=["unknown-kind", "missing-variable", "missing-block", "empty-subject", "syntax", "undefined"],
)
def test_bad_templates_and_contexts(tmp_path: Path, files: dict, kind: str, context: dict,
                                    message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(TemplateError, match=message.replace("{", r"\{").replace("}", r"\}")):
        Templates(tmp_path).render(kind, {**COMMON, **context})


def test_check_reports_a_broken_override(tmp_path: Path) -> None:
    (tmp_path / "account_deactivated.txt.j2").write_text("{% block body %}b{% endblock %}")
    with pytest.raises(TemplateError, match="account_deactivated"):
        Templates(tmp_path).check()


def test_templates_path_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="smtp.templates_path"):
        Templates(tmp_path / "missing")
