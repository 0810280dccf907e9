"""DNS names an operator writes in the configuration, in the one form the policy compares.

`security.identifiers.forbidden_names` and `allowed_suffixes` are matched against identifiers
that are lower-case A-labels without a trailing dot (RFC 8555 §7.1.4). An entry written any
other way (a U-label, capitals, stray spaces, a final dot) would match nothing and fail open,
so each is rewritten to that form at load, and one that is no host name is a config error.
"""

from __future__ import annotations

import encodings.idna
import re
import unicodedata

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_MAX_NAME = 253
_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")


def canonical_name(text: str) -> str:
    """`text` as lower-case A-labels without a trailing dot; ValueError saying why it is
    not a host name."""
    name = text.strip().removesuffix(".")
    if not name:
        raise ValueError("is empty")
    if "*" in name:
        raise ValueError(f"{text!r} holds a wildcard; name the domain itself (it covers what is under it)")
    labels = []
    for label in name.split("."):
        if not label:
            raise ValueError(f"{text!r} has an empty label")
        if not label.isascii():
            # IDNA2008 keeps letters, marks and digits; symbols (valid only in IDNA2003) and
            # the deviation characters (ß, ς, ZWJ, ZWNJ) name different hosts in each.
            if any(ch in _DEVIATIONS or (ch != "-" and unicodedata.category(ch)[0] not in "LMN")
                   for ch in label):
                raise ValueError(f"{text!r} is not a valid internationalized name")
            try:
                label = encodings.idna.ToASCII(label).decode("ascii")
            except UnicodeError:
                raise ValueError(f"{text!r} is not a valid internationalized name") from None
        label = label.lower()
        if not _LABEL.fullmatch(label):
            raise ValueError(f"{text!r}: label {label!r} is not letters, digits and inner hyphens")
        labels.append(label)
    result = ".".join(labels)
    if len(result) > _MAX_NAME:
        raise ValueError(f"{text!r} is longer than {_MAX_NAME} characters")
    if labels[-1].isdigit():
        raise ValueError(f"{text!r} ends in an all-numeric label (an IP address is not a name)")
    return result
