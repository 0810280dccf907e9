"""acmeeh.logs: text and JSON lines, extra fields, exception text, secret redaction, levels."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest

from acmeeh.logs import TextFormatter, configure_logging, reconfigure_level, redact_text

PEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBx\nabc=\n-----END EC PRIVATE KEY-----"


def capture(fmt: str, level: str = "DEBUG") -> io.StringIO:
    stream = io.StringIO()
    configure_logging(level, fmt, stream=stream)
    return stream


@pytest.mark.usefixtures("restore_root")
def test_json_lines_carry_fields_extras_and_exception() -> None:
    stream = capture("json")
    log = logging.getLogger("acmeeh.test")
    log.info("order %s ready", "o-1", extra={"order_id": "o-1", "count": 2})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    first, second = [
        json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")
    ]
    assert first["level"] == "INFO" and first["logger"] == "acmeeh.test"
    assert first["msg"] == "order o-1 ready"
    assert first["order_id"] == "o-1" and first["count"] == 2
    assert first["ts"].endswith("Z") and "T" in first["ts"]
    assert second["level"] == "ERROR" and "ValueError: boom" in second["exc"]
    assert isinstance(second["exc"], str)


@pytest.mark.usefixtures("restore_root")
def test_text_lines() -> None:
    stream = capture("text")
    logging.getLogger("acmeeh.web").warning(
        "slow request", extra={"path": "/acme/new-order", "ms": 12}
    )
    line = stream.getvalue().strip()
    assert " WARNING acmeeh.web: slow request " in line
    assert "ms=12" in line and "path=/acme/new-order" in line


@pytest.mark.usefixtures("restore_root")
def test_records_skip_what_no_line_shows() -> None:
    """No stack walk for the caller and no thread or process names per record; the lines
    still carry everything they show."""
    stream = capture("text")
    seen: list[logging.LogRecord] = []
    probe = logging.Handler()
    probe.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(probe)
    try:
        logging.getLogger("acmeeh.web").info("hello %s", "there", extra={"k": 1})
    finally:
        logging.getLogger().removeHandler(probe)
    (record,) = seen
    assert record.funcName == "(unknown function)" and record.lineno == 0
    assert record.threadName is None and record.processName is None
    assert " INFO acmeeh.web: hello there k=1" in stream.getvalue()


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain", "plain"),
        ("two words", '"two words"'),
        ("a=b", '"a=b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("tab\there", '"tab\\there"'),
        ("", '""'),
        ("é", "é"),
        (200, "200"),
        (3.25, "3.25"),
        (float("nan"), "NaN"),
        (True, "true"),
        (None, "null"),
        ([1, "a"], '[1, "a"]'),
    ],
)
@pytest.mark.usefixtures("restore_root")
def test_text_values_stay_parsable(value: object, written: str) -> None:
    """A value with a space, a quote or an equals sign is quoted as JSON; numbers as JSON."""
    stream = capture("text")
    logging.getLogger("acmeeh.web").info("m", extra={"field": value})
    assert stream.getvalue().strip().endswith(f" field={written}")


@pytest.mark.parametrize("created", [0.0, 1764770000.9994, 1764770001.0, 1764770001.5, 1.0005])
def test_timestamps_in_utc_to_the_millisecond(created: float) -> None:
    """The date part is reused within a second; each line still gets its own milliseconds."""
    formatter = TextFormatter()
    record = logging.LogRecord("acmeeh", logging.INFO, "", 0, "m", None, None)
    for when in (created, created + 0.25, created):  # the cache must not leak between seconds
        record.created = when
        stamp = formatter.format(record).split(" ", 1)[0]
        expected = dt.datetime.fromtimestamp(int(when), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        assert stamp == f"{expected}.{int(when * 1000) % 1000:03d}Z"


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("database password=hunter2 rejected", "hunter2"),
        ('config {"password": "hunter2"}', "hunter2"),
        ("token_secret: abcdef123", "abcdef123"),
        ("eab hmac=c2VjcmV0 kid=k1", "c2VjcmV0"),
        ("key_password='pa ss'", "pa ss"),
        ("Authorization: Bearer eyJhbGciOi", "eyJhbGciOi"),
        ("connecting to postgresql://acmeeh:hunter2@db:5432/acmeeh", "hunter2"),
        (f"loaded key\n{PEM}\n", "MHcCAQEEIBx"),
        ("-----BEGIN PRIVATE KEY-----\ntruncated", "truncated"),
    ],
)
def test_redact_text(message: str, secret: str) -> None:
    assert secret not in redact_text(message)


@pytest.mark.parametrize(
    "message",
    [
        "challenge token=abc123 for order o-1",  # ACME tokens are public (RFC 8555 §8.3)
        "https://acme.example.com:8443/acme/directory",
        "passed validation",
    ],
)
def test_redact_text_leaves_ordinary_text(message: str) -> None:
    assert redact_text(message) == message


@pytest.mark.usefixtures("restore_root")
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_redaction_applies_to_messages_args_extras_and_exceptions(fmt: str) -> None:
    stream = capture(fmt)
    log = logging.getLogger("acmeeh.test")
    log.info(
        "connect %s",
        "postgresql://u:hunter2@db/x",
        extra={
            "password": "hunter2",
            "admin_token": "tok-9",
            "context": {"key_password": "pw-7", "n": 1},
        },
    )
    try:
        raise RuntimeError(f"bad key {PEM}")
    except RuntimeError:
        log.exception("token_secret=s3cr3t")
    out = stream.getvalue()
    for secret in ("hunter2", "tok-9", "pw-7", "MHcCAQEEIBx", "s3cr3t"):
        assert secret not in out
    assert "***" in out


@pytest.mark.usefixtures("restore_root")
def test_configure_twice_replaces_the_handler_and_levels_change() -> None:
    first = capture("text", "INFO")
    second = capture("json", "WARNING")
    log = logging.getLogger("acmeeh.test")
    log.info("quiet")
    log.warning("loud")
    assert first.getvalue() == ""
    assert [json.loads(line)["msg"] for line in second.getvalue().splitlines()] == ["loud"]
    reconfigure_level("DEBUG")
    log.debug("now visible")
    assert "now visible" in second.getvalue()


@pytest.mark.parametrize(("level", "fmt"), [("LOUD", "text"), ("INFO", "xml")])
def test_bad_arguments(level: str, fmt: str, restore_root: None) -> None:
    with pytest.raises(ValueError):
        configure_logging(level, fmt, stream=io.StringIO())
