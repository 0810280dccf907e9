"""Every URL the ACME API hands out, built from server.external_url + acme.path_prefix."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

# RFC 8555 §7.1.1: the resources the directory names, each at its path below the base URL.
RESOURCES = {"newNonce": "new-nonce", "newAccount": "new-account", "newOrder": "new-order",
             "newAuthz": "new-authz", "revokeCert": "revoke-cert", "keyChange": "key-change"}


@dataclass(frozen=True)
class Urls:
    base: str  # e.g. https://acme.example.com/acme

    @classmethod
    def from_settings(cls, settings) -> Urls:
        return cls(settings.server.external_url.rstrip("/") + settings.acme.path_prefix)

    def directory(self) -> str:
        return f"{self.base}/directory"

    def resources(self) -> dict[str, str]:
        """The URL of each resource of RESOURCES, by its directory field name."""
        return {name: f"{self.base}/{path}" for name, path in RESOURCES.items()}

    def issuer(self) -> str:
        return f"{self.base}/issuer"

    def account(self, account_id: uuid.UUID) -> str:
        return f"{self.base}/account/{account_id}"

    def account_orders(self, account_id: uuid.UUID) -> str:
        return f"{self.base}/account/{account_id}/orders"

    def order(self, order_id: uuid.UUID) -> str:
        return f"{self.base}/order/{order_id}"

    def finalize(self, order_id: uuid.UUID) -> str:
        return f"{self.base}/order/{order_id}/finalize"

    def authz(self, authz_id: uuid.UUID) -> str:
        return f"{self.base}/authz/{authz_id}"

    def challenge(self, challenge_id: uuid.UUID) -> str:
        return f"{self.base}/chall/{challenge_id}"

    def certificate(self, cert_id: uuid.UUID) -> str:
        return f"{self.base}/cert/{cert_id}"

    def certificate_alternate(self, cert_id: uuid.UUID, index: int) -> str:
        """The certificate with its `index`-th alternate chain (RFC 8555 §7.4.2), from 1."""
        return f"{self.base}/cert/{cert_id}/{index}"

    def account_id(self, kid: str) -> uuid.UUID | None:
        """The account id of a `kid` that is exactly an account URL this server hands out
        (RFC 8555 §6.2: the kid is the account URL), else None: another host or scheme, a
        path with extra or dot segments, a query, or an id not spelled as `account()` spells
        it (upper case, braces, urn:uuid:, no hyphens) is not one of ours."""
        prefix = f"{self.base}/account/"
        if not kid.startswith(prefix):
            return None
        text = kid[len(prefix):]
        try:
            account_id = uuid.UUID(text)
        except ValueError:
            return None
        return account_id if str(account_id) == text else None
