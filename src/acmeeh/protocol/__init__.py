"""ACME vocabulary (RFC 8555 and friends): messages, problems, JWS, identifiers, CSRs, statuses.

Pure code: standard library, cryptography and josepy only; no IO, no database, no Flask.
Import the submodules directly (``from acmeeh.protocol import jws, problems``).
"""
