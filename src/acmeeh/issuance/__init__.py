"""Signs certificates: loads the CA key and certificate and issues leaves; no DB, no Flask.

backend.py  CABackend interface, load_backend(settings.ca), test_sign
local.py    LocalCA: the signing key on local disk
profiles.py the leaf: names, extensions, validity; IssuedCertificate
keyfiles.py reading PEM files, the 0600 key check; CAError
devca.py    generate_dev_ca: root + issuing intermediate for development mode
chains.py   what follows the leaf in a download (no trust anchor)
"""

from acmeeh.issuance.backend import CABackend, CAError, IssuedCertificate, load_backend, test_sign
from acmeeh.issuance.devca import DevCA, generate_dev_ca

__all__ = [
    "CABackend",
    "CAError",
    "DevCA",
    "IssuedCertificate",
    "generate_dev_ca",
    "load_backend",
    "test_sign",
]
