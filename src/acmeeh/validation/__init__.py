"""Proves control of identifiers (http-01, dns-01, tls-alpn-01) and checks CAA. Network IO; no DB, no Flask.

`Validator(settings.challenges).validate(...)` returns a `ValidationResult`; it never raises
for network trouble. `Validator.check_caa(...)` applies RFC 8659.
"""

from .validator import ValidationResult, Validator

__all__ = ["ValidationResult", "Validator"]
