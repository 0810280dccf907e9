"""The mailer against real SMTP servers on 127.0.0.1 (aiosmtpd): plain, STARTTLS + AUTH, refusals,
a closed port. Failures are MailErrors that say whether the server was usable at all, and the
password never shows in an error or a log line."""
from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import ssl
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from notify_support import SENDER, Inbox, make_settings, smtp_overrides
from support.dns import free_port

from acmeeh.notify import Mailer, MailError, Rendered, build_message

PASSWORD = "s3cret-Smtp-Passw0rd"


def smtp_settings(port: int, **extra: Any) -> Any:
    return make_settings("postgresql:///unused", smtp_overrides(port, **extra)).smtp


def message(to: str = "owner@example.test", subject: str = "Hello") -> Any:
    return build_message(Rendered(subject=subject, text="Body line\n"), sender=SENDER,
                         recipient=to, message_id="<1@example.test>")


# --- a CA and a server certificate for 127.0.0.1, for STARTTLS ---------------------------
def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def tls_files(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """(CA file the client trusts, server context for 127.0.0.1)."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Test SMTP CA")).issuer_name(_name("Test SMTP CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    return ca_file, server


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"mailer"
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


# --- tests ---------------------------------------------------------------------------------
def test_plain_delivery(smtp) -> None:
    Mailer(smtp_settings(smtp.port)).send(message())
    (got,) = smtp.inbox.wait_for(1)
    assert got.mail_from == SENDER and got.rcpt_tos == ["owner@example.test"]
    assert got.message["Subject"] == "Hello" and got.message["To"] == "owner@example.test"
    assert got.message["Message-ID"] == "<1@example.test>"
    assert got.message["Auto-Submitted"] == "auto-generated"
    assert got.message.get_content() == "Body line\n"


def test_one_session_sends_several(smtp) -> None:
    with Mailer(smtp_settings(smtp.port)).session() as session:
        for n in range(3):
            session.send(message(to=f"u{n}@example.test"))
    assert [m.rcpt_tos for m in smtp.inbox.wait_for(3)] == [[f"u{n}@example.test"] for n in range(3)]


@pytest.mark.parametrize("password", [PASSWORD, "wrong-password"], ids=["good", "bad"])
def test_starttls_and_login(smtp_factory, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                            password: str) -> None:
    ca_file, server_context = tls_files(tmp_path)
    smtp = smtp_factory(Inbox(), tls_context=server_context, require_starttls=True,
                        authenticator=authenticator, auth_required=True)
    cfg = smtp_settings(smtp.port, use_tls=True, username="mailer", password=password)
    mailer = Mailer(cfg, ssl_context=ssl.create_default_context(cafile=str(ca_file)))
    caplog.set_level(logging.DEBUG)
    if password == PASSWORD:
        mailer.send(message())
        assert smtp.inbox.wait_for(1)[0].message["Subject"] == "Hello"
        return
    with pytest.raises(MailError) as err:
        mailer.send(message())
    assert err.value.connection and "535" in str(err.value)
    assert password not in str(err.value) and password not in caplog.text
    assert smtp.inbox.messages == []


def test_untrusted_server_certificate_is_refused(smtp_factory, tmp_path: Path) -> None:
    _ca_file, server_context = tls_files(tmp_path)
    smtp = smtp_factory(Inbox(), tls_context=server_context, require_starttls=True)
    with pytest.raises(MailError) as err:  # system trust store: our test CA is unknown
        Mailer(smtp_settings(smtp.port, use_tls=True)).send(message())
    assert err.value.connection and "CERTIFICATE_VERIFY_FAILED" in str(err.value)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("451 4.3.0 Try again later", "451"), ("554 5.7.1 Message rejected", "554")],
    ids=["temporary", "permanent"],
)
def test_refused_message_is_not_a_connection_error(smtp_factory, reply: str, expected: str) -> None:
    smtp = smtp_factory(Inbox(refuse_first=1, refuse_reply=reply))
    with pytest.raises(MailError) as err:
        Mailer(smtp_settings(smtp.port)).send(message())
    assert not err.value.connection and expected in str(err.value)


@pytest.mark.parametrize(
    ("extra", "needs_server"),
    [({}, False), ({"use_tls": True}, True)],
    ids=["closed-port", "no-starttls-offered"],
)
def test_unusable_server_is_a_connection_error(smtp_factory, extra: dict, needs_server: bool) -> None:
    port = smtp_factory().port if needs_server else free_port()
    with pytest.raises(MailError) as err:
        Mailer(smtp_settings(port, **extra)).send(message())
    assert err.value.connection


def test_check_reports_health(smtp) -> None:
    Mailer(smtp_settings(smtp.port)).check()
    with pytest.raises(MailError):
        Mailer(smtp_settings(free_port())).check()


def test_header_injection_is_impossible() -> None:
    with pytest.raises(ValueError):
        build_message(Rendered(subject="x", text="y"), sender=SENDER,
                      recipient="a@example.test\r\nBcc: victim@example.test")
