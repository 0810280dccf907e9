"""The admin CLI without a server: every API operation has a command (and no command names
an operation the API lacks), the session file is private, reasons and tables."""
from __future__ import annotations

import argparse
import io
import stat
from pathlib import Path

import pytest
import yaml

from acmeeh.cli.admin import client, output, session
from acmeeh.cli.admin.cmd_certs import REASONS, reason_code
from acmeeh.cli.admin.parser import leaves
from acmeeh.cli.args import build_parser

ADMIN_DIR = Path(__file__).resolve().parents[3] / "src" / "acmeeh" / "admin"


def _admin_parser() -> argparse.ArgumentParser:
    top = build_parser()
    action = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices["admin"]


def _documented() -> dict[str, tuple[str, str]]:
    """operationId → (method, path) read straight from src/acmeeh/admin/*.yaml."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted(ADMIN_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        for route, item in (doc.get("paths") or {}).items():
            for method, op in item.items():
                if method != "parameters":
                    found[op["operationId"]] = (method.upper(), route)
    return found


def test_every_api_operation_has_a_cli_command() -> None:
    documented = _documented()
    assert documented == client.load_operations()
    covered: dict[str, list[str]] = {}
    for path, leaf in leaves(_admin_parser()):
        if path == ("create-user",):
            continue
        ops = leaf.get_default("operations")
        assert ops and callable(leaf.get_default("handler")), path
        for op in ops:
            covered.setdefault(op, []).append(" ".join(path))
    assert sorted(set(documented) - set(covered)) == [], "API operations without a command"
    assert sorted(set(covered) - set(documented)) == [], "commands naming unknown operations"


def test_session_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "session.json"
    saved = session.Session(url="https://ca.example/api", token="t" * 43, username="root",
                            expires_at="2999-01-01T00:00:00Z")
    session.save(path, saved)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert session.load(path) == saved and not saved.expired()
    path.chmod(0o640)
    with pytest.raises(client.CliError) as refused:
        session.load(path)
    assert refused.value.code == client.EXIT_AUTH
    path.chmod(0o600)
    path.write_text("{not json")
    with pytest.raises(client.CliError):
        session.load(path)
    assert session.remove(path) and session.load(path) is None
    assert session.Session("u", "t", "n", "2000-01-01T00:00:00Z").expired()


@pytest.mark.parametrize(("text", "code"), [("keyCompromise", 1), ("KEYCOMPROMISE", 1),
                                            ("0", 0), ("9", 9), ("superseded", 4),
                                            ("certificateHold", 6)])
def test_reason_names(text: str, code: int) -> None:
    assert reason_code(text) == code


@pytest.mark.parametrize("text", ["cACompromise", "2", "10", "8", "removeFromCRL", ""])
def test_reasons_refused(text: str) -> None:
    with pytest.raises(client.CliError) as refused:
        reason_code(text)
    assert refused.value.code == client.EXIT_USAGE
    assert set(REASONS.values()) == {0, 1, 3, 4, 5, 6, 9}


@pytest.mark.parametrize(("status", "type_", "code"), [
    (400, "urn:acmeeh:admin:error:badRequest", client.EXIT_INVALID),
    (400, "urn:ietf:params:acme:error:alreadyRevoked", client.EXIT_CONFLICT),
    (401, "urn:acmeeh:admin:error:unauthorized", client.EXIT_AUTH),
    (403, "urn:acmeeh:admin:error:forbidden", client.EXIT_FORBIDDEN),
    (404, "urn:acmeeh:admin:error:notFound", client.EXIT_NOT_FOUND),
    (409, "urn:acmeeh:admin:error:conflict", client.EXIT_CONFLICT),
    (413, "urn:acmeeh:admin:error:payloadTooLarge", client.EXIT_INVALID),
    (500, "urn:acmeeh:admin:error:serverInternal", client.EXIT_ERROR),
    (502, "", client.EXIT_ERROR),
])
def test_exit_code_of_each_problem(status: int, type_: str, code: int) -> None:
    error = client.ApiError(status, {"type": type_, "detail": "why",
                                     "errors": [{"path": "/x", "message": "bad"}]})
    assert error.code == code
    assert "why" in str(error) and f"HTTP {status}" in str(error)


def test_table_and_fields() -> None:
    out = io.StringIO()
    output.table([{"id": "1", "names": ["a", "b"], "ok": True, "when": None}],
                 [("ID", "id"), ("NAMES", "names"), ("OK", "ok"), ("WHEN", "when")], out)
    assert out.getvalue().splitlines() == ["ID  NAMES  OK   WHEN", "1   a, b   yes  -"]
    out = io.StringIO()
    output.table([], [("ID", "id")], out)
    assert out.getvalue() == "(none)\n"
    assert output.when("2026-01-02T03:04:05.123456Z") == "2026-01-02 03:04:05Z"
    out = io.StringIO()
    output.fields({"a": {"k": 1}}, [("alpha", "a")], out)
    assert out.getvalue() == 'alpha: {"k":1}\n'


def test_urls_quote_path_parameters() -> None:
    api = client.Client("https://ca.example/api/", operations={"getEabKey": ("GET", "/eab/{kid}")})
    method, url = api.url("getEabKey", {"kid": "a/b c"}, {"x": None, "y": "1 2"})
    assert (method, url) == ("GET", "https://ca.example/api/eab/a%2Fb%20c?y=1+2")
