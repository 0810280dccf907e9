"""Revocation status tests: CRL, OCSP and ARI against a running server."""
