"""certbot --manual hook: publish or withdraw a dns-01 TXT record in the test DNS server.

Usage: python dns01.py auth|cleanup. certbot passes CERTBOT_DOMAIN and CERTBOT_VALIDATION;
the test passes ACMEEH_TEST_DNS_CONTROL (the ZoneServer control URL, loopback only).
RFC 8555 §8.4: the record is TXT at "_acme-challenge." + the base domain (no "*.").
Stdlib only: it runs in certbot's process environment.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

TIMEOUT_SECONDS = 5


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in ("auth", "cleanup"):
        print("usage: dns01.py auth|cleanup", file=sys.stderr)
        return 2
    control = os.environ["ACMEEH_TEST_DNS_CONTROL"]
    if not control.startswith("http://127.0.0.1:"):
        print(f"refusing non-loopback control URL {control}", file=sys.stderr)
        return 2
    domain = os.environ["CERTBOT_DOMAIN"].removeprefix("*.")
    body = {
        "op": "add" if argv[1] == "auth" else "remove",
        "name": f"_acme-challenge.{domain}",
        "value": os.environ["CERTBOT_VALIDATION"],
    }
    request = urllib.request.Request(
        control,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        print(response.read().decode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
