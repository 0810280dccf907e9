"""`ca init DIR [--tls-name NAME]...`: a self-signed demo root (and a proxy certificate) for labs.

The root is the development mode's (EC P-256, ten years, pathlen 0); an existing one is kept, so
the command can run at every start of a compose lab. Production CAs are made offline, not here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from acmeeh.issuance import generate_dev_ca, issue_dev_tls


def run_standalone(args: argparse.Namespace) -> int:
    """Create (or keep) DIR/ca.pem + DIR/ca-key.pem, and DIR/tls.pem + DIR/tls-key.pem when
    --tls-name is given; print the paths. Raises CAError for a half-present pair."""
    directory = Path(args.directory)
    cert, key = generate_dev_ca(directory)
    print(f"demo CA certificate: {cert}")
    print(f"demo CA key:         {key} (mode 0600; not for production)")
    if args.tls_name:
        tls_cert, tls_key = issue_dev_tls(directory, list(args.tls_name))
        print(f"TLS certificate:     {tls_cert}")
        print(f"TLS key:             {tls_key}")
    return 0
