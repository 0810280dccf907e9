"""Every file in config/ is loaded and validated exactly as `--validate-only` does (read, ${VAR}
substitution, schema, cross-field checks, summary), with its secrets set in the environment; an
unknown key added anywhere makes it fail; and each file keeps the promises its name makes."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from acmeeh.cli.report import config_summary
from acmeeh.config import ConfigError, load_settings

from .containerkit import ROOT

CONFIG_DIR = ROOT / "config"
EXAMPLES = sorted(CONFIG_DIR.glob("*.yaml"))


def secrets_of(path: Path) -> dict[str, str]:
    """A value for every ${VAR} without a default (all are secrets or a password)."""
    names = re.findall(r"\$\{([A-Za-z_]\w*)\}", path.read_text())
    return {name: f"{name.lower()}-value-0123456789abcdef0123456789" for name in names}


def load(path: Path) -> Any:
    return load_settings(path, environ=secrets_of(path))


def test_the_expected_examples_are_there() -> None:
    assert {p.name for p in EXAMPLES} == {
        "minimal.yaml", "production-ha.yaml", "enterprise-eab.yaml", "lab-trusted-network.yaml",
        "compose.yaml", "hsm-pkcs11.yaml", "acme-upstream.yaml"}
    assert (CONFIG_DIR / "compose.yaml").resolve() == (ROOT / "docker" / "config.yaml").resolve()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates(path: Path) -> None:
    settings = load(path)
    assert config_summary(settings).startswith("config OK")


def _with_unknown_key(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One copy of `data` per mapping in it, each with an unknown key added to that mapping."""
    copies = []

    def mappings(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            copies.append(path)
            for key, value in node.items():
                mappings(value, (*path, key))

    mappings(data, ())
    out = []
    for path in copies:
        doc = yaml.safe_load(yaml.safe_dump(data))
        node = doc
        for key in path:
            node = node[key]
        node["no_such_key"] = 1
        out.append(doc)
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_an_unknown_key_anywhere_fails(path: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    for n, doc in enumerate(_with_unknown_key(data)):
        broken = tmp_path / f"{n}.yaml"
        broken.write_text(yaml.safe_dump(doc))
        with pytest.raises(ConfigError, match="no_such_key: unknown key"):
            load_settings(broken, environ=secrets_of(path))


def test_production_ha_is_what_it_says() -> None:
    s = load(CONFIG_DIR / "production-ha.yaml")
    assert s.database.sslmode == "verify-full" and s.database.host != "localhost"
    assert s.ca.chain and "intermediate" in s.ca.certificate
    assert s.crl.enabled and s.ocsp.enabled and s.ocsp.responder_dir
    assert s.security.rate_limits.enabled
    assert s.metrics.auth_required and s.metrics.token
    assert s.logging.format == "json" and s.logging.audit.file
    assert s.proxy.enabled and s.server.bind == "127.0.0.1"
    assert not s.database.auto_setup


def test_enterprise_requires_eab() -> None:
    s = load(CONFIG_DIR / "enterprise-eab.yaml")
    assert s.acme.external_account_required and s.admin_api.enabled


def test_lab_auto_accepts_only_its_own_names() -> None:
    s = load(CONFIG_DIR / "lab-trusted-network.yaml")
    assert s.challenges.auto_accept
    assert s.security.identifiers.allowed_suffixes == ("lab.test",)


def test_hsm_keeps_the_key_in_the_token() -> None:
    s = load(CONFIG_DIR / "hsm-pkcs11.yaml")
    assert s.ca.backend == "pkcs11" and s.ca.key is None
    assert s.ca.pkcs11.module and s.ca.pkcs11.token_label and s.ca.pkcs11.key_label
    assert s.ca.pkcs11.pin == secrets_of(CONFIG_DIR / "hsm-pkcs11.yaml")["ACMEEH_HSM_PIN"]


def test_upstream_orders_from_another_ca() -> None:
    s = load(CONFIG_DIR / "acme-upstream.yaml")
    assert s.ca.backend == "acme_upstream" and s.ca.key is None
    assert s.ca.acme_upstream.directory_url and s.ca.acme_upstream.eab_kid
    assert not s.crl.enabled and not s.ocsp.enabled


def test_minimal_is_minimal() -> None:
    data = yaml.safe_load((CONFIG_DIR / "minimal.yaml").read_text())
    assert set(data) == {"server", "database", "ca", "security"}
    assert load(CONFIG_DIR / "minimal.yaml").database.auto_setup
