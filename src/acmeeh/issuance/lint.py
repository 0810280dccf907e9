"""Pre-issuance lint: every signed leaf is checked with pkilint before it leaves the CA.

`Linter(kind, ignore)` builds pkilint's validators once per thread (they are not documented as
shareable) and `findings(der)` returns what they report. `refusing(findings)` keeps the
error-level ones (ERROR and FATAL) that are not ignored: those refuse issuance. pkilint is an
optional dependency (`pip install 'acmeeh[lint]'`); asking for a linter without it is a CAError.

Kinds:
- `pkix`: RFC 5280 rules (structure, names, extensions, key). Fits any internal PKI.
- `cabf_serverauth`: the CA/Browser Forum TLS Baseline Requirements for a DV subscriber
  certificate. Internal names and missing certificate policies are errors there, so it suits
  a CA that wants its leaves to look like public ones.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from acmeeh.issuance.keyfiles import CAError

KINDS = ("pkix", "cabf_serverauth")
REFUSING = ("FATAL", "ERROR")


@dataclass(frozen=True)
class Finding:
    severity: str  # FATAL, ERROR, WARNING, NOTICE, INFO (pkilint's ValidationFindingSeverity)
    code: str  # e.g. pkix.invalid_uri_syntax
    message: str  # may be empty
    path: str  # where in the certificate, e.g. certificate.tbsCertificate.extensions.6...

    def __str__(self) -> str:
        text = f"{self.severity} {self.code} at {self.path}"
        return f"{text}: {self.message}" if self.message else text


class Linter:
    """pkilint's validators for one kind of leaf, with finding codes to leave out."""

    def __init__(self, kind: str, ignore: Iterable[str] = ()) -> None:
        if kind not in KINDS:
            raise CAError(f"lint.linter: unknown linter {kind!r}; use one of {', '.join(KINDS)}")
        self.kind = kind
        self.ignore = frozenset(ignore)
        self._build = _builder(kind)
        self._local = threading.local()
        self._local.validate = self._build()  # fail at start-up, not at the first finalize

    def findings(self, der: bytes) -> list[Finding]:
        """Every finding pkilint reports for the DER certificate, ignored codes left out."""
        validate = getattr(self._local, "validate", None)
        if validate is None:
            validate = self._local.validate = self._build()
        return [f for f in validate(der) if f.code not in self.ignore]


def refusing(findings: Sequence[Finding]) -> list[Finding]:
    """The findings that refuse issuance: error level and above."""
    return [f for f in findings if f.severity in REFUSING]


def _builder(kind: str) -> Callable[[], Callable[[bytes], list[Finding]]]:
    try:  # imported on demand: pkilint is optional and takes most of a second to import
        import acmeeh.issuance.pkilint_rules as pkilint_rules
    except ImportError:
        raise CAError("lint.enabled needs pkilint: pip install 'acmeeh[lint]'") from None
    return pkilint_rules.BUILDERS[kind]
