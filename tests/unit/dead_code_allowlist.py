"""Names vulture cannot see used, each with the reason (read by tests/unit/test_architecture.py).

This file is never imported: vulture counts a name as used when it appears here. Keep it small;
a name belongs here only when a framework or protocol calls it by convention.
"""
# ruff: noqa: B018, F821
# Flask: hooks registered by decorator, attributes set on `g` and read back with g.get/g.pop.
_.audit_target  # admin/blueprint.py, read with g.get("audit_target")
_.acmeeh_started  # web/observe.py, read with g.pop
_.acmeeh_log_token  # web/observe.py, read with g.pop
_.acmeeh_request_id  # web/observe.py, read with g.get
_.sort_keys  # app.py: Flask's JSON provider option
_.last_modified  # web/pki.py: werkzeug Response header property
# Jinja2: attributes only the dashboard templates read.
height  # admin/ui/charts.py Chart, templates/_macros.html
top  # admin/ui/charts.py Chart, templates/_macros.html
application_name  # store/stats.py LockHolder, templates/overview.html
client_addr  # store/stats.py LockHolder, templates/overview.html
# josepy: class attributes and hooks of JSONObjectWithFields / JWK subclasses.
cryptography_key_types  # protocol/jws.py JWKOKP
fields_to_partial_json  # protocol/jws.py JWKOKP
fields_from_json  # protocol/jws.py JWKOKP
profile  # protocol/messages.py NewOrder: a field of the wire object
# Standard-library and third-party protocols called by name.
_._srcfile  # logs.py: logging reads it (the HOWTO's switch: no caller lookup per record)
_.logThreads  # logs.py: logging reads it for each record
_.logProcesses  # logs.py: logging reads it for each record
_.logMultiprocessing  # logs.py: logging reads it for each record
__getattr__  # server/wsgi.py: module attribute hook (PEP 562) for gunicorn's `application`
handle_int  # server/gunicorn.py: gunicorn Arbiter signal handler
load_config  # server/gunicorn.py: gunicorn BaseApplication hook
collect  # metrics.py: prometheus_client custom collectors
redirect_request  # cli/admin/client.py: urllib HTTPRedirectHandler hook
readable  # validation/http01.py: io.RawIOBase protocol
readinto  # validation/http01.py: io.RawIOBase protocol
makefile  # validation/http01.py: socket protocol for http.client
_.use_search_by_default  # validation/resolver.py: dnspython Resolver option
_.__doc__  # protocol/problems.py: docstring of the generated constructors
_.__test__  # issuance/backend.py: tells pytest test_sign is not a test
# cryptography's private-key interface: a token key (issuance/backends/pkcs11_keys.py) must
# define every abstract method, and refuses those that would read the key out.
decrypt  # RSAPrivateKey
private_numbers  # RSAPrivateKey, EllipticCurvePrivateKey
exchange  # EllipticCurvePrivateKey
ciphertext  # RSAPrivateKey.decrypt
peer_public_key  # EllipticCurvePrivateKey.exchange
encoding  # private_bytes
encryption_algorithm  # private_bytes
memo  # __deepcopy__
# Factories of the built-in CA backends, named by entry-point strings (issuance/registry.py).
load  # issuance/backends/file.py, issuance/backends/pkcs11.py
# Parameters of a seam that an implementation has no use for.
certificate_der  # issuance: CABackend.revoked (LocalCA publishes through its own CRL/OCSP)
# Row fields: the columns a dataclass lists are selected (store.records.columns).
failed_logins  # store/admin.py AdminUserRow
processing_since  # store/records.py ChallengeRow
backend_start  # store/stats.py LockHolder
# Status vocabularies: every value a column can hold is named, used in Python or not.
DELIVERED  # store/webhooks.py
# Reports: counts a worker tick returns for its log line and tests.
postponed  # authority/webhooks.py DeliveryReport
# Vocabulary: every CRLReason of RFC 5280 §5.3.1 is a member, used or not.
UNSPECIFIED
KEY_COMPROMISE
CA_COMPROMISE
AFFILIATION_CHANGED
SUPERSEDED
CESSATION_OF_OPERATION
CERTIFICATE_HOLD
REMOVE_FROM_CRL
PRIVILEGE_WITHDRAWN
AA_COMPROMISE
# Tooling: regenerates the table in docs/migration.md (tests/unit/config/test_config_migrate.py).
migration_table
