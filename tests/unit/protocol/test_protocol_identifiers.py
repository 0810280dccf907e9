"""acmeeh.protocol.identifiers: normalisation tables for dns and ip identifiers."""

import pytest

from acmeeh.protocol.identifiers import Identifier, from_operator, normalize
from acmeeh.protocol.problems import Problem
from acmeeh.protocol.status import IdentifierType

GOOD_DNS = [
    ("example.com", "example.com"),
    ("Example.COM", "example.com"),  # RFC 4343: case folds
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example"),
    ("*.example.com", "*.example.com"),
    ("*.xn--bcher-kva.example", "*.xn--bcher-kva.example"),
    ("localhost", "localhost"),  # single label: syntax ok, policy decides
    ("a-b.c-d.example", "a-b.c-d.example"),
    ("123.example", "123.example"),
    ("a" * 63 + ".example", "a" * 63 + ".example"),
    (".".join(["a" * 63] * 3) + "." + "b" * 61, ".".join(["a" * 63] * 3) + "." + "b" * 61),
]


@pytest.mark.parametrize(("raw", "want"), GOOD_DNS)
def test_dns_good(raw, want):
    ident = normalize("dns", raw)
    assert ident == Identifier(IdentifierType.DNS, want)
    assert ident.to_json() == {"type": "dns", "value": want}


# Issue 12 item 3: every syntax or size defect is malformed (400), never rejectedIdentifier.
BAD_DNS = [
    "",
    "   ",
    "  www.example.com ",  # stray spaces are bad characters
    "example.com.",  # a trailing dot
    ".",
    "..",
    "example.com..",
    ".example.com",
    "a..example",
    "exa mple.com",
    "under_score.example",
    "-lead.example",
    "trail-.example",
    "a" * 64 + ".example",  # label over 63 octets
    ".".join(["a" * 63] * 4),  # 255 > 253
    "ab--cd.example",  # reserved R-LDH label
    "xn--zzzzzz-.example",  # trailing hyphen
    "xn--99999999999.example",  # punycode that does not decode
    "xn--zca.example",  # IDNA2008-only A-label (ß)
    "xn--n3h.example",  # A-label of a symbol (☃)
    "xn--abc.example",  # decodes but is not a valid A-label
    "Bücher.example",  # a U-label where an A-label is required (RFC 8555 §7.1.4)
    "例え.テスト",
    "example\u3002com",  # an ideographic full stop is not a dot on the wire
    "faß.example",
    "☃.example",
    "*",
    "*.",
    "*.com",
    "**.example.com",
    "*a.example.com",
    "a.*.example.com",
    "www.*.com",
    "*.*.example.com",
    "1.2.3.4",  # RFC 8738 §3: IPs are type ip
    "::1",
    "[::1]",
    "10.0.0.0/8",
    "fe80::1%eth0",
    "127.1",  # all-numeric last label
    "example.123",
    "http://example.com",
    "example.com:443",
]


@pytest.mark.parametrize("raw", BAD_DNS)
def test_dns_bad_is_malformed(raw):
    with pytest.raises(Problem) as info:
        normalize("dns", raw)
    assert info.value.code == "malformed" and info.value.status == 400
    assert info.value.identifier == {"type": "dns", "value": raw}


GOOD_IP = [
    ("192.0.2.1", "192.0.2.1"),
    ("0.0.0.0", "0.0.0.0"),
    ("2001:db8::1", "2001:db8::1"),
    ("::1", "::1"),
    ("2001:db8::", "2001:db8::"),
    ("::ffff:a00:1", "::ffff:a00:1"),
    ("::ffff:10.0.0.1", "::ffff:a00:1"),  # RFC 5952 §5 mixed notation
    ("::10.0.0.1", "::a00:1"),
]


@pytest.mark.parametrize(("raw", "want"), GOOD_IP)
def test_ip_good(raw, want):
    assert normalize("ip", raw) == Identifier(IdentifierType.IP, want)


# RFC 8738 §3 with RFC 5952 §4: anything but the canonical text is malformed.
BAD_IP = [
    "",
    " 192.0.2.1 ",
    "192.0.2.01",
    "010.0.0.1",
    "192.0.2",
    "192.0.2.256",
    "192.0.2.0/24",
    "2001:db8::/32",
    "fe80::1%eth0",
    "[2001:db8::1]",
    "example.com",
    "0x7f.0.0.1",
    "2001:db8:::1",
    "2001:DB8::1",  # RFC 5952 §4.3: lower case
    "2001:db8:0:0:0:0:0:1",  # §4.2.1: the longest run of zeros is compressed
    "2001:0db8::1",  # §4.1: no leading zeros
    "2001:db8::0:1",
]


@pytest.mark.parametrize("raw", BAD_IP)
def test_ip_bad_is_malformed(raw):
    with pytest.raises(Problem) as info:
        normalize("ip", raw)
    assert info.value.code == "malformed" and info.value.status == 400
    assert info.value.identifier == {"type": "ip", "value": raw}


@pytest.mark.parametrize(
    ("kind", "raw", "want"),
    [
        ("dns", " Bücher.Example. ", "xn--bcher-kva.example"),
        ("dns", "*.WWW.example.com", "*.www.example.com"),
        ("ip", " 2001:DB8:0::1 ", "2001:db8::1"),
    ],
)
def test_from_operator_accepts_loose_spelling(kind, raw, want):
    assert from_operator(kind, raw).value == want


@pytest.mark.parametrize(("kind", "raw"), [("dns", "a..b"), ("dns", "☃.example"), ("ip", "1.2.3")])
def test_from_operator_still_refuses_bad_names(kind, raw):
    with pytest.raises(Problem) as info:
        from_operator(kind, raw)
    assert info.value.code == "malformed"


@pytest.mark.parametrize(
    ("kind", "value", "code"),
    [
        ("email", "a@example.com", "unsupportedIdentifier"),
        ("DNS", "example.com", "unsupportedIdentifier"),
        ("", "example.com", "unsupportedIdentifier"),
        (None, "example.com", "malformed"),
        ("dns", None, "malformed"),
        ("dns", 42, "malformed"),
        ("ip", ["1.2.3.4"], "malformed"),
    ],
)
def test_type_and_value_errors(kind, value, code):
    with pytest.raises(Problem) as info:
        normalize(kind, value)
    assert info.value.code == code


def test_identifier_properties():
    wild = normalize("dns", "*.Example.com")
    assert wild.wildcard and wild.base == "example.com"
    plain = normalize("dns", "example.com")
    assert not plain.wildcard and plain.base == "example.com"
    ip = normalize("ip", "::1")
    assert not ip.wildcard and ip.base == "::1" and ip.to_json() == {"type": "ip", "value": "::1"}
    assert min([plain, ip, wild]).type == IdentifierType.DNS
    assert len({plain, normalize("dns", "EXAMPLE.com")}) == 1
