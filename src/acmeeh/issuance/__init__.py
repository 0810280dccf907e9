"""Signs certificates: loads the CA key and certificate and issues leaves; no DB, no Flask.

backend.py  CABackend interface, load_backend(settings.ca), test_sign
local.py    LocalCA: the signing key on local disk
profiles.py the leaf: names, extensions, validity, shaped by a LeafProfile; IssuedCertificate
keyfiles.py reading PEM files, the 0600 key check; CAError
devca.py    generate_dev_ca: root + issuing intermediate for development mode
chains.py   what follows the leaf in a download (no trust anchor); ca.alternate_chains
formats.py  the download formats Accept chooses (PEM chain, DER leaf, PKCS#7)
devtls.py   issue_dev_tls: a TLS certificate from the development CA for a demo proxy
"""

from acmeeh.issuance.backend import CABackend, CAError, IssuedCertificate, load_backend, test_sign
from acmeeh.issuance.devca import DevCA, generate_dev_ca
from acmeeh.issuance.devtls import issue_dev_tls

__all__ = [
    "CABackend",
    "CAError",
    "DevCA",
    "IssuedCertificate",
    "generate_dev_ca",
    "issue_dev_tls",
    "load_backend",
    "test_sign",
]
