"""acmeeh.protocol.csr: decoding CSRs, their names and the finalize checks."""

import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from acmeeh.protocol.csr import check_csr, parse_csr
from acmeeh.protocol.identifiers import normalize
from acmeeh.protocol.keys import KeyPolicy
from acmeeh.protocol.problems import Problem

# The default certificate key policy (security.leaf_key_types, security.rsa_key_sizes).
POLICY = {"policy": KeyPolicy(frozenset({"RSA", "P-256", "P-384"}), frozenset({2048, 3072, 4096}))}


@pytest.fixture(scope="module")
def keys():
    return {
        "rsa": rsa.generate_private_key(65537, 2048),
        "rsa1024": rsa.generate_private_key(65537, 1024),
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p521": ec.generate_private_key(ec.SECP521R1()),
        "k1": ec.generate_private_key(ec.SECP256K1()),
        "ed": ed25519.Ed25519PrivateKey.generate(),
    }


def build(key, *, cn=None, dns=(), ips=(), others=(), extra_ext=None) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
    )
    names = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    names += list(others)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if extra_ext is not None:
        builder = builder.add_extension(extra_ext, critical=False)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.DER)


def idents(*pairs):
    return frozenset(normalize(t, v) for t, v in pairs)


def problem_of(call, *args, **kwargs) -> Problem:
    with pytest.raises(Problem) as info:
        call(*args, **kwargs)
    return info.value


# --- parse_csr -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "want"),
    [
        ({"dns": ["example.com"]}, [("dns", "example.com")]),
        (
            {"cn": "example.com", "dns": ["example.com", "www.example.com"]},
            [("dns", "example.com"), ("dns", "www.example.com")],
        ),
        (
            {"cn": "other.example", "dns": ["example.com"]},  # CN outside SANs still counts
            [("dns", "example.com"), ("dns", "other.example")],
        ),
        ({"cn": "Example.COM"}, [("dns", "example.com")]),  # CN alone
        (
            {"dns": ["*.example.com", "EXAMPLE.com"]},
            [("dns", "*.example.com"), ("dns", "example.com")],
        ),
        ({"ips": ["192.0.2.1", "2001:db8::1"]}, [("ip", "192.0.2.1"), ("ip", "2001:db8::1")]),
        ({"cn": "192.0.2.1", "ips": ["192.0.2.1"]}, [("ip", "192.0.2.1")]),
        (
            {"dns": ["example.com"], "extra_ext": x509.BasicConstraints(ca=True, path_length=None)},
            [("dns", "example.com")],
        ),  # other requested extensions are ignored
    ],
)
def test_parse_names(keys, kwargs, want):
    der = build(keys["p256"], **kwargs)
    parsed = parse_csr(der)
    assert parsed.identifiers == idents(*want)
    assert parsed.der == der and isinstance(parsed.public_key, ec.EllipticCurvePublicKey)


@pytest.mark.parametrize("name", ["rsa", "p256", "p521", "ed"])
def test_parse_key_types(keys, name):
    parsed = parse_csr(build(keys[name], dns=["example.com"]))
    assert parsed.public_key == keys[name].public_key()


def _flip_last_byte(der: bytes) -> bytes:
    return der[:-1] + bytes([der[-1] ^ 0x01])


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    head = bytes([size]) if size < 128 else bytes([0x80 | ((size.bit_length() + 7) // 8)]) + \
        size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag]) + head + body


def _sha1_signed(keys) -> bytes:
    """A CSR signed with sha1WithRSAEncryption (cryptography will not sign one: assembled by
    hand from the request info of a good CSR, RFC 2986 §4.2)."""
    info = x509.load_der_x509_csr(build(keys["rsa"], dns=["example.com"])).tbs_certrequest_bytes
    signature = keys["rsa"].sign(info, padding.PKCS1v15(), hashes.SHA1())
    sha1_rsa = _der(0x30, bytes.fromhex("06092a864886f70d0101050500"))  # 1.2.840.113549.1.1.5
    return _der(0x30, info + sha1_rsa + _der(0x03, b"\x00" + signature))


def _point_off_curve(keys) -> bytes:
    """A P-256 CSR whose public point is replaced by (0, 0), which is not on the curve."""
    der = build(keys["p256"], dns=["example.com"])
    point = keys["p256"].public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    at = der.index(point)
    return der[: at + 1] + bytes(64) + der[at + 65 :]


@pytest.mark.parametrize(
    ("label", "make", "fragment"),
    [
        ("empty", lambda k: b"", "not a valid DER"),
        ("garbage", lambda k: b"\x30\x03abc", "not a valid DER"),
        ("pem not der", lambda k: b"-----BEGIN CERTIFICATE REQUEST-----", "not a valid DER"),
        ("truncated", lambda k: build(k["rsa"], dns=["example.com"])[:-10], "not a valid DER"),
        (
            "trailing data",
            lambda k: build(k["rsa"], dns=["example.com"]) + b"\x00",
            "not a valid DER",
        ),
        (
            "bad signature",
            lambda k: _flip_last_byte(build(k["rsa"], dns=["example.com"])),
            "signature is invalid",
        ),
        ("no names", lambda k: build(k["p256"]), "no names"),
        ("sha1 signature", _sha1_signed, "signed with SHA1; SHA-256 or stronger is required"),
        ("ec point off the curve", _point_off_curve, "EC point must lie on its curve"),
        (
            "email SAN",
            lambda k: build(
                k["p256"], dns=["example.com"], others=[x509.RFC822Name("a@example.com")]
            ),
            "RFC822Name",
        ),
        (
            "URI SAN",
            lambda k: build(
                k["p256"],
                dns=["example.com"],
                others=[x509.UniformResourceIdentifier("https://x.example")],
            ),
            "UniformResourceIdentifier",
        ),
        ("invalid dns SAN", lambda k: build(k["p256"], dns=["bad_name.example"]), "bad_name"),
        ("IP as dns SAN", lambda k: build(k["p256"], dns=["192.0.2.1"]), "IP address"),
        ("bad wildcard", lambda k: build(k["p256"], dns=["*.com"]), "wildcard"),
        (
            "invalid CN",
            lambda k: build(k["p256"], cn="not a name", dns=["example.com"]),
            "not a name",
        ),
    ],
)
def test_parse_bad(keys, label, make, fragment):
    problem = problem_of(parse_csr, make(keys))
    assert (problem.code, problem.status) == ("badCSR", 400), label
    assert fragment in problem.detail


# --- check_csr -------------------------------------------------------------------------


def test_check_ok(keys):
    parsed = parse_csr(build(keys["p256"], cn="example.com", dns=["example.com"], ips=["::1"]))
    check_csr(parsed, idents(("dns", "example.com"), ("ip", "::1")), **POLICY)
    check_csr(parsed, list(idents(("dns", "example.com"), ("ip", "::1"))), **POLICY)


@pytest.mark.parametrize(
    ("csr_names", "order", "fragments"),
    [
        (["a.example", "b.example"], [("dns", "a.example")], ["not in the order b.example"]),
        (["a.example"], [("dns", "a.example"), ("dns", "b.example")], ["missing b.example"]),
        (
            ["a.example"],
            [("dns", "b.example")],
            ["missing b.example", "not in the order a.example"],
        ),
        (["a.example"], [("dns", "*.a.example")], ["missing *.a.example"]),
        (["a.example"], [("dns", "a.example"), ("ip", "192.0.2.1")], ["missing 192.0.2.1"]),
    ],
)
def test_check_names_mismatch(keys, csr_names, order, fragments):
    parsed = parse_csr(build(keys["p256"], dns=csr_names))
    problem = problem_of(check_csr, parsed, idents(*order), **POLICY)
    assert problem.code == "badCSR"
    for fragment in fragments:
        assert fragment in problem.detail


@pytest.mark.parametrize(
    ("name", "policy", "fragment"),
    [
        ("rsa1024", {}, "RSA modulus size 1024 is not one of the accepted sizes"),
        ("rsa", {"rsa_sizes": frozenset({3072})}, "RSA modulus size 2048"),
        ("k1", {}, "EC curve secp256k1 keys are not accepted"),
        ("p521", {}, "P-521 keys are not accepted here"),  # must be enabled explicitly
        ("ed", {}, "Ed25519 keys are not accepted here"),  # must be enabled explicitly
        ("p256", {"key_types": frozenset({"RSA"})}, "P-256"),
    ],
)
def test_check_key_policy(keys, name, policy, fragment):
    parsed = parse_csr(build(keys[name], dns=["example.com"]))
    rules = POLICY["policy"]
    chosen = KeyPolicy(policy.get("key_types", rules.key_types), policy.get("rsa_sizes", rules.rsa_sizes))
    problem = problem_of(check_csr, parsed, idents(("dns", "example.com")), policy=chosen)
    assert problem.code == "badCSR" and fragment in problem.detail


def test_check_ed25519_and_p521_when_enabled(keys):
    enabled = KeyPolicy(frozenset({"Ed25519", "P-521"}), frozenset({2048}))
    for name in ("ed", "p521"):
        parsed = parse_csr(build(keys[name], dns=["example.com"]))
        check_csr(parsed, idents(("dns", "example.com")), policy=enabled)
