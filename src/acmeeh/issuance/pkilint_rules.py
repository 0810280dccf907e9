"""pkilint's certificate validators, one builder per `lint.linter` kind (see lint.py).

A builder returns a function from a DER certificate to its findings; lint.py calls it once per
thread. Importing this module imports pkilint (the `lint` extra), which only lint.py does.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pkilint import finding_filter, loader
from pkilint.cabf import serverauth
from pkilint.cabf.serverauth import serverauth_constants
from pkilint.pkix import certificate, extension, name

from acmeeh.issuance.lint import Finding

Check = Callable[[bytes], list[Finding]]

# An ACME leaf is a domain-validated subscriber certificate in the Baseline Requirements' terms.
_LEAF = serverauth_constants.CertificateType.DV_FINAL_CERTIFICATE


def pkix() -> Check:
    """RFC 5280: issuer, validity, subject, extensions and key of the leaf."""
    validator = certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(
            name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS),
        [certificate.create_issuer_validator_container([]),
         certificate.create_validity_validator_container(),
         certificate.create_subject_validator_container([]),
         certificate.create_extensions_validator_container([]),
         certificate.create_spki_validator_container([])])
    load = loader.RFC5280CertificateDocumentLoader().load_der_document
    return lambda der: _flatten(validator.validate(load(der, "leaf").root))


def cabf_serverauth() -> Check:
    """The CA/Browser Forum TLS Baseline Requirements for a DV subscriber certificate, with
    the PKIX findings they supersede filtered out as pkilint's own CLI does."""
    validator = certificate.create_pkix_certificate_validator_container(
        serverauth.create_decoding_validators(), serverauth.create_validators(_LEAF))
    filters = serverauth.create_serverauth_finding_filters(_LEAF)
    load = loader.RFC5280CertificateDocumentLoader().load_der_document

    def run(der: bytes) -> list[Finding]:
        results, _ = finding_filter.filter_results(
            filters, validator.validate(load(der, "leaf").root))
        return _flatten(results)

    return run


BUILDERS: dict[str, Callable[[], Check]] = {"pkix": pkix, "cabf_serverauth": cabf_serverauth}


def _flatten(results: Iterable[Any]) -> list[Finding]:
    return [
        Finding(severity=described.finding.severity.name, code=described.finding.code,
                message=described.message or "", path=str(result.node.path))
        for result in results for described in result.finding_descriptions
    ]
