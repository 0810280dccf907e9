"""`ca init DIR [--tls-name NAME]...`: a demo CA (and a proxy certificate) for labs and compose.

The CA is the development mode's (an EC P-256 root and an issuing intermediate); existing files
are kept, so the command can run at every start of a compose lab. Production CAs are made
offline, not here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from acmeeh.issuance import generate_dev_ca, issue_dev_tls


def run_standalone(args: argparse.Namespace) -> int:
    """Create (or keep) the demo CA in DIR, and DIR/tls.pem + DIR/tls-key.pem when --tls-name
    is given; print the paths. Raises CAError for a half-present pair."""
    ca = generate_dev_ca(Path(args.directory))
    print(f"trust anchor (give it to clients): {ca.root}")
    print(f"ca.certificate:                    {ca.certificate}")
    print(f"ca.key:                            {ca.key} (mode 0600; not for production)")
    if args.tls_name:
        tls_cert, tls_key = issue_dev_tls(ca, list(args.tls_name))
        print(f"TLS chain for a proxy:             {tls_cert}")
        print(f"TLS key:                           {tls_key}")
    return 0
