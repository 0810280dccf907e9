"""`ca test-sign`: sign a throw-away CSR with the configured CA and show the certificate."""

from __future__ import annotations

import argparse

from cryptography import x509

from acmeeh.authority import profiles
from acmeeh.config import Settings
from acmeeh.issuance import load_backend, test_sign


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Load the backend (checks key mode, key/cert match, chain), sign a leaf of the default
    profile, print; 0 on success."""
    backend = load_backend(settings.ca)
    default = profiles.configured(settings.ca, None)
    issued = test_sign(backend, profiles.leaf_profile(settings.ca, default))
    cert = x509.load_der_x509_certificate(issued.der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(v) for v in san.get_values_for_type(x509.DNSName)]
        names += [str(v) for v in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = []
    print("test-sign OK")
    print(f"  subject:    {cert.subject.rfc4514_string() or '(empty)'}")
    print(f"  issuer:     {cert.issuer.rfc4514_string()}")
    print(f"  serial:     {issued.serial_hex}")
    print(f"  not before: {issued.not_before.isoformat()}")
    print(f"  not after:  {issued.not_after.isoformat()}")
    print(f"  SANs:       {', '.join(names) or '-'}")
    print(f"  sha256:     {issued.fingerprint_sha256}")
    print(issued.pem_chain.rstrip())
    return 0
