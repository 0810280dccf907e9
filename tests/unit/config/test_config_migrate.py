"""`python -m acmeeh config migrate`: an original ACMEEH file becomes a valid one of ours, every
original key is decided by a rule, and docs/migration.md shows the same rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from acmeeh.config.migration import KEPT_DEFAULTS, RULES, migrate, migration_table, rule_for

ROOT = Path(__file__).resolve().parents[3]
ORIGINAL = Path(__file__).parent / "data" / "original-acmeeh.yaml"
DOC = ROOT / "docs" / "migration.md"
SECRETS = {"DB_PASSWORD": "pw", "ADMIN_TOKEN_SECRET": "s" * 40, "METRICS_TOKEN": "metrics-token"}


def acmeeh(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {"PYTHONPATH": str(ROOT / "src"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "acmeeh", *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env=environ, check=False)


def lookup(doc: Any, path: str) -> Any:
    for part in path.split("."):
        doc = doc[part]
    return doc


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    work = tmp_path_factory.mktemp("migrate")
    done = acmeeh("config", "migrate", str(ORIGINAL), "-o", "new.yaml", cwd=work, env=SECRETS)
    return work / "new.yaml", done


def test_original_file_migrates_and_validates(migrated) -> None:
    """The command needs no -c, writes the file, and the file passes --validate-only."""
    new, done = migrated
    assert done.returncode == 0, done.stderr
    assert new.is_file()
    checked = acmeeh("-c", str(new), "--validate-only", cwd=new.parent, env=SECRETS)
    assert checked.returncode == 0, checked.stderr
    assert "https://acme.corp.example" in checked.stdout


def test_every_original_key_gets_one_line(migrated) -> None:
    _, done = migrated
    old = yaml.safe_load(ORIGINAL.read_text())
    lines = done.stderr.splitlines()
    for rule in RULES:
        prefix = rule.old.removesuffix(".*")
        assert any(line.startswith(prefix) for line in lines), f"{rule.old} not reported"
    assert not any("not a key of the original" in line for line in lines)
    assert old["database"]["password"] == "${DB_PASSWORD}"


@pytest.mark.parametrize("rule", [r for r in RULES if r.new and not r.old.endswith("*")],
                         ids=lambda r: r.old)
def test_moved_keys_carry_their_values(migrated, rule) -> None:
    """Every rule that keeps a key is exercised by the original file and lands where it says."""
    new, _ = migrated
    old_doc, new_doc = yaml.safe_load(ORIGINAL.read_text()), yaml.safe_load(new.read_text())
    value = lookup(old_doc, rule.old)
    expected = rule.convert(value) if rule.convert else value
    shadowed = {"dns.resolvers", "order.retry_after_seconds", "smtp.username"}
    if rule.old in shadowed:  # a rule for the same new key came first, or the value was empty
        return
    assert lookup(new_doc, rule.new) == expected


@pytest.mark.parametrize(
    ("old", "new", "value"),
    [
        ("server.worker_class", "server.worker_class", "gthread"),
        ("api.base_path", "acme.path_prefix", "/acme"),
        ("security.identifier_policy.allowed_domains", "security.identifiers.allowed_suffixes",
         ["corp.example"]),
        ("security.rate_limits.new_account", "security.rate_limits.new_accounts_per_ip",
         {"count": 10, "window_seconds": 3600}),
        ("logging.format", "logging.format", "text"),
        ("database.connection_timeout", "database.connect_timeout", 13),
        ("metrics.auth_required", "metrics.token", "${METRICS_TOKEN}"),
        ("ari.renewal_percentage", "renewal_info.window_end", 0.95),
        ("security.min_rsa_key_size", "security.rsa_key_sizes", [2048, 3072, 4096]),
        ("security.allowed_ec_curves", "security.leaf_key_types", ["RSA", "P-256", "P-384"]),
    ],
)
def test_converted_values(migrated, old: str, new: str, value: Any) -> None:
    new_path, _ = migrated
    assert lookup(yaml.safe_load(new_path.read_text()), new) == value


def test_original_defaults_are_written_out() -> None:
    """A key the old file left to its default keeps the old behaviour."""
    result = migrate({"server": {"external_url": "https://a.example"}})
    for _old, new, value in KEPT_DEFAULTS:
        assert lookup(result.config, new) == value
    assert "background_worker" not in result.config.get("challenges", {})


@pytest.mark.parametrize(
    ("path", "kind"),
    [("acme.paths.new_order", None), ("ca.hsm.pin", None), ("hooks.registered", None),
     ("challenges.http01.port", "challenges.http01.port"), ("nonce.expiry_seconds", "nonce.lifetime_seconds"),
     ("made.up", "unknown")],
)
def test_rule_lookup(path: str, kind: str | None) -> None:
    rule = rule_for(path)
    if kind == "unknown":
        assert rule is None
        assert migrate({"made": {"up": 1}}).notes[0].message.startswith("not a key")
    else:
        assert rule is not None and rule.new == kind


def test_refuses_to_overwrite_and_reports_bad_results(tmp_path: Path) -> None:
    target = tmp_path / "new.yaml"
    target.write_text("keep me\n")
    done = acmeeh("config", "migrate", str(ORIGINAL), "-o", str(target), cwd=tmp_path, env=SECRETS)
    assert done.returncode == 2 and "--force" in done.stderr
    assert target.read_text() == "keep me\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"server": {"external_url": "https://a.example"},
                                   "ca": {"default_validity_days": 3000}}))
    done = acmeeh("config", "migrate", str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert "ca.validity_days" in done.stderr and "needs attention" in done.stderr
    assert yaml.safe_load(done.stdout)["ca"]["validity_days"] == 3000


def test_docs_table_is_generated_from_the_rules() -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- migration-table:start -->\n", "<!-- migration-table:end -->"
    assert text[text.index(start) + len(start):text.index(end)] == migration_table(), (
        "docs/migration.md is stale: paste the output of "
        "python -c 'from acmeeh.config.migration import migration_table; print(migration_table())'")
    for old, new, value in KEPT_DEFAULTS:
        assert f"| `{old}` | `{new}` | `{json.dumps(value)}` |" in text


def test_original_profiles_keep_their_shape_and_the_default(migrated) -> None:
    new, done = migrated
    ca = yaml.safe_load(new.read_text())["ca"]
    assert ca["profiles"] == {"default": {"key_usage": ["digital_signature"],
                                          "extended_key_usage": ["server_auth"]}}
    assert ca["default_profile"] == "default"
    assert "orders that name no profile get 'default'" in done.stderr
