"""RFC 8555 §6.3 and §7.4.2: a client can follow every link the server hands out.

Some clients (lego, mod_md) fetch rel="up" with POST-as-GET to complete a chain and give up on a
certificate when that fails; the chain itself stops below the trust anchor, so a client that
appends the issuer never stores the root twice.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from cryptography import x509
from requests.utils import parse_header_links
from support.acme_client import PEM_CHAIN, AcmeClient, Http01Responder, expect
from support.server import RunningServer, start_server

from acmeeh.issuance import generate_dev_ca

pytestmark = pytest.mark.e2e
MAX_FOLLOWED = 200  # bounds the crawl


def links(response: requests.Response) -> list[tuple[str, str]]:
    """(url, rel) of every Link header field (requests joins repeated fields with commas)."""
    value = response.headers.get("Link", "")
    return [(link["url"], link.get("rel", "")) for link in parse_header_links(value)] if value else []


def crawl(client: AcmeClient, start: list[requests.Response]) -> dict[str, requests.Response]:
    """POST-as-GET every URL any response links to, and every URL those link to, once each."""
    answers: dict[str, requests.Response] = {}
    queue = [url for response in start for url, _rel in links(response)]
    while queue and len(answers) < MAX_FOLLOWED:
        url = queue.pop(0)
        if url not in answers:
            answers[url] = client.post(url)
            queue.extend(link for link, _rel in links(answers[url]))
    assert not queue, f"more than {MAX_FOLLOWED} distinct links"
    return answers


def name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}.localhost"


def downloads(seen: list[requests.Response]) -> list[requests.Response]:
    return [r for r in seen if r.headers.get("Content-Type", "").startswith(PEM_CHAIN)]


def issue(server: RunningServer, seen: list[requests.Response]) -> tuple[AcmeClient, dict]:
    """A whole issuance, every response recorded; ends by listing the account's orders."""
    client = AcmeClient(server.directory_url, on_response=seen.append)
    expect(client.new_account(), 201)
    with Http01Responder(server.http01_port) as http01:
        got = client.obtain_certificate([name("links")], http01=http01)
    account = expect(client.post(client.kid), 200).json()
    expect(client.post(account["orders"]), 200)
    return client, got


@pytest.fixture(scope="module")
def root_signed_server(
    tmp_path_factory: pytest.TempPathFactory, dns_server
) -> Iterator[RunningServer]:
    """A server whose CA certificate is a root that signs leaves itself (no intermediate)."""
    workdir = tmp_path_factory.mktemp("root_signed")
    ca = generate_dev_ca(workdir / "ca")
    root = {"certificate": str(ca.root), "key": str(workdir / "ca" / "root-key.pem"),
            "chain": None}
    # One order a page, so that the orders list links rel="next".
    server = start_server(workdir / "server", dns=dns_server,
                          overrides={"ca": root, "acme": {"orders_page_size": 1}})
    try:
        yield server
    finally:
        server.stop()


def test_every_linked_resource_answers_post_as_get(acme_server: RunningServer) -> None:
    seen: list[requests.Response] = []
    client, got = issue(acme_server, seen)
    answers = crawl(client, seen)
    assert {"index", "up"} <= {rel for r in seen for _url, rel in links(r)}
    refused = {url: r.status_code for url, r in answers.items() if r.status_code != 200}
    assert refused == {}, refused
    # GET stays where it was allowed.
    assert expect(client.request("GET", acme_server.directory_url), 200).json()["newOrder"]
    # The chain is leaf + intermediate: the root never travels, so nothing is left to fetch.
    chain = x509.load_pem_x509_certificates(got["pem"].encode())
    root = x509.load_pem_x509_certificate(acme_server.root_cert_path.read_bytes())
    issuing = x509.load_pem_x509_certificate(acme_server.ca_cert_path.read_bytes())
    assert chain[1:] == [issuing] and root not in chain
    assert "up" not in {rel for _url, rel in links(downloads(seen)[0])}


def test_up_leads_from_a_lone_leaf_to_its_issuer(root_signed_server: RunningServer) -> None:
    """RFC 8555 §7.4.2: with no intermediate to send, rel="up" names the issuer certificate,
    which answers POST-as-GET and GET, and links no further up."""
    seen: list[requests.Response] = []
    client, got = issue(root_signed_server, seen)
    assert len(x509.load_pem_x509_certificates(got["pem"].encode())) == 1
    up = [url for url, rel in links(downloads(seen)[0]) if rel == "up"]
    assert up == [root_signed_server.directory_url.replace("/directory", "/issuer")]
    root = x509.load_pem_x509_certificate(root_signed_server.root_cert_path.read_bytes())
    for answer in (client.post(up[0]), client.request("GET", up[0])):
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith(PEM_CHAIN)
        assert x509.load_pem_x509_certificates(answer.content) == [root]
        assert "up" not in {rel for _url, rel in links(answer)}
    assert client.post(up[0], {}).status_code == 400  # POST-as-GET means an empty payload


def test_next_is_signed_as_given_and_pages_on(root_signed_server: RunningServer) -> None:
    """RFC 8555 §7.1.2.1: the orders list's rel="next" URL, query included, is what the client
    signs; every page answers and together they list every order."""
    seen: list[requests.Response] = []
    client, first = issue(root_signed_server, seen)
    second = expect(client.new_order([name("second")]), 201).headers["Location"]
    listed = [expect(client.post(client.post(client.kid).json()["orders"]), 200)]
    answers = crawl(client, listed)
    assert "next" in {rel for _url, rel in links(listed[0])}
    assert {url: r.status_code for url, r in answers.items() if r.status_code != 200} == {}
    pages = [listed[0], *(r for url, r in answers.items() if "/orders?" in url)]
    orders = [order for page in pages for order in page.json()["orders"]]
    assert sorted(orders) == sorted([first["order_url"], second])
