"""acmeeh.protocol.identifiers: normalisation tables for dns and ip identifiers."""

import pytest

from acmeeh.protocol.identifiers import Identifier, normalize
from acmeeh.protocol.problems import Problem
from acmeeh.protocol.status import IdentifierType

GOOD_DNS = [
    ("example.com", "example.com"),
    ("Example.COM", "example.com"),
    ("  www.example.com ", "www.example.com"),
    ("example.com.", "example.com"),
    ("Bücher.example", "xn--bcher-kva.example"),
    ("BÜCHER.example", "xn--bcher-kva.example"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example"),
    ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
    ("example\u3002com", "example.com"),  # ideographic full stop separates labels
    ("*.example.com", "*.example.com"),
    ("*.Bücher.example", "*.xn--bcher-kva.example"),
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


BAD_DNS = [
    ("", "malformed"),
    ("   ", "malformed"),
    (".", "rejectedIdentifier"),
    ("..", "rejectedIdentifier"),
    ("example.com..", "rejectedIdentifier"),
    (".example.com", "rejectedIdentifier"),
    ("a..example", "rejectedIdentifier"),
    ("exa mple.com", "rejectedIdentifier"),
    ("under_score.example", "rejectedIdentifier"),
    ("-lead.example", "rejectedIdentifier"),
    ("trail-.example", "rejectedIdentifier"),
    ("a" * 64 + ".example", "rejectedIdentifier"),
    (".".join(["a" * 63] * 4), "rejectedIdentifier"),  # 255 > 253
    ("ab--cd.example", "rejectedIdentifier"),  # reserved R-LDH label
    ("xn--zzzzzz-.example", "rejectedIdentifier"),  # trailing hyphen
    ("xn--99999999999.example", "rejectedIdentifier"),  # punycode that does not decode
    ("xn--zca.example", "rejectedIdentifier"),  # IDNA2008-only A-label (ß)
    ("xn--n3h.example", "rejectedIdentifier"),  # A-label of a symbol (☃)
    ("xn--abc.example", "rejectedIdentifier"),  # decodes but is not a valid A-label
    ("faß.example", "rejectedIdentifier"),  # IDNA2003/2008 deviation
    ("☃.example", "rejectedIdentifier"),  # symbol, not IDNA2008
    ("*", "rejectedIdentifier"),
    ("*.", "rejectedIdentifier"),
    ("*.com", "rejectedIdentifier"),
    ("**.example.com", "rejectedIdentifier"),
    ("*a.example.com", "rejectedIdentifier"),
    ("a.*.example.com", "rejectedIdentifier"),
    ("www.*.com", "rejectedIdentifier"),
    ("*.*.example.com", "rejectedIdentifier"),
    ("1.2.3.4", "rejectedIdentifier"),  # RFC 8738 §3: IPs are type ip
    ("::1", "rejectedIdentifier"),
    ("[::1]", "rejectedIdentifier"),
    ("10.0.0.0/8", "rejectedIdentifier"),
    ("fe80::1%eth0", "rejectedIdentifier"),
    ("127.1", "rejectedIdentifier"),  # all-numeric last label
    ("example.123", "rejectedIdentifier"),
    ("http://example.com", "rejectedIdentifier"),
    ("example.com:443", "rejectedIdentifier"),
]


@pytest.mark.parametrize(("raw", "code"), BAD_DNS)
def test_dns_bad(raw, code):
    with pytest.raises(Problem) as info:
        normalize("dns", raw)
    assert info.value.code == code and info.value.status == 400
    assert info.value.identifier == {"type": "dns", "value": raw}


GOOD_IP = [
    ("192.0.2.1", "192.0.2.1"),
    (" 192.0.2.1 ", "192.0.2.1"),
    ("0.0.0.0", "0.0.0.0"),
    ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    ("::1", "::1"),
    ("2001:db8::", "2001:db8::"),
]


@pytest.mark.parametrize(("raw", "want"), GOOD_IP)
def test_ip_good(raw, want):
    assert normalize("ip", raw) == Identifier(IdentifierType.IP, want)


BAD_IP = [
    ("", "malformed"),
    ("192.0.2.01", "rejectedIdentifier"),
    ("010.0.0.1", "rejectedIdentifier"),
    ("192.0.2", "rejectedIdentifier"),
    ("192.0.2.256", "rejectedIdentifier"),
    ("192.0.2.0/24", "rejectedIdentifier"),
    ("2001:db8::/32", "rejectedIdentifier"),
    ("fe80::1%eth0", "rejectedIdentifier"),
    ("[2001:db8::1]", "rejectedIdentifier"),
    ("example.com", "rejectedIdentifier"),
    ("0x7f.0.0.1", "rejectedIdentifier"),
    ("2001:db8:::1", "rejectedIdentifier"),
]


@pytest.mark.parametrize(("raw", "code"), BAD_IP)
def test_ip_bad(raw, code):
    with pytest.raises(Problem) as info:
        normalize("ip", raw)
    assert info.value.code == code and info.value.identifier == {"type": "ip", "value": raw}


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
    assert len({plain, normalize("dns", "EXAMPLE.com.")}) == 1
