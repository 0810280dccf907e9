"""ACMEEH: an ACME (RFC 8555) certificate authority server for internal PKI."""

__version__ = "0.1.0"
