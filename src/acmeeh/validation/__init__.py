"""Proves control of identifiers (http-01, dns-01, tls-alpn-01) and checks CAA. Network IO; no DB, no Flask.

`Validator` is the seam the authority sees; `NetworkValidator(settings.challenges)` implements
it: `validate(...)` returns a `ValidationResult` and never raises for network trouble,
`check_caa(...)` applies RFC 8659.
"""

from .validator import NetworkValidator, ValidationResult, Validator

__all__ = ["NetworkValidator", "ValidationResult", "Validator"]
