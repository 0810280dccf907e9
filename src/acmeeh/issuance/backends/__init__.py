"""The built-in CA backends, one module each, built by issuance.registry from `ca.backend`.

file.py           the signing key in a PEM file (the default)
pkcs11.py         the signing key in a PKCS#11 token (pkcs11_keys.py, pkcs11_sessions.py)
acme_upstream.py  another ACME CA issues, ordered with ACMEEH's account (upstream_account.py)
"""
