"""`ca init` and issue_dev_tls: the demo CA of the compose lab and its proxy certificate."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from acmeeh.issuance import CAError, DevCA, issue_dev_tls

ROOT = Path(__file__).resolve().parents[3]


def test_ca_init_command_makes_a_demo_ca_and_proxy_certificate(tmp_path: Path) -> None:
    """`python -m acmeeh ca init DIR --tls-name ...` needs no -c, and a second run keeps all."""
    directory = tmp_path / "ca"
    argv = [sys.executable, "-m", "acmeeh", "ca", "init", str(directory),
            "--tls-name", "localhost", "--tls-name", "127.0.0.1"]
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": os.environ.get("PATH", "/usr/bin")}
    first = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert first.returncode == 0, first.stderr
    files = {p.name: p.read_bytes() for p in directory.iterdir()}
    assert {"root.pem", "intermediate.pem", "intermediate-key.pem", "tls.pem",
            "tls-key.pem"} <= set(files)
    assert stat.S_IMODE((directory / "tls-key.pem").stat().st_mode) == 0o600
    root = x509.load_pem_x509_certificate(files["root.pem"])
    leaf, issuer = x509.load_pem_x509_certificates(files["tls.pem"])
    leaf.verify_directly_issued_by(issuer)
    issuer.verify_directly_issued_by(root)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= timedelta(days=398)
    assert str(directory / "root.pem") in first.stdout
    again = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert again.returncode == 0, again.stderr
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == files


def test_dev_tls_needs_the_ca_and_a_name(tmp_path: Path) -> None:
    missing = DevCA(root=tmp_path / "r.pem", certificate=tmp_path / "c.pem", key=tmp_path / "k.pem")
    with pytest.raises(CAError, match="no usable issuing CA"):
        issue_dev_tls(missing, ["localhost"])
    with pytest.raises(ValueError):
        issue_dev_tls(missing, [])
