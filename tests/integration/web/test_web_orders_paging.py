"""The orders list (RFC 8555 §7.1.2.1) pages through every order of an account: the `next`
link is a URL the client POSTs-as-GET as it is, query and all (§6.4: the JWS url is the
request URL). Against an app built by create_app, served in process, with 250 orders, over
3 pages of 100.
"""
from __future__ import annotations

import uuid

import requests

from support.acme_client import ERROR_PREFIX, AcmeClient, expect, problem_type

ORDERS = 250
MAX_PAGES = 20  # bounded walk


def make_orders(client: AcmeClient) -> set[str]:
    """ORDERS orders of the client's account: their URLs."""
    base = f"page-{uuid.uuid4().hex[:8]}"
    return {expect(client.new_order([f"{base}-{i % 5}.localhost"]), 201).headers["Location"]
            for i in range(ORDERS)}


def orders_url(client: AcmeClient) -> str:
    return expect(client.post(client.kid), 200).json()["orders"]


def next_link(response: requests.Response) -> str | None:
    link = response.links.get("next")
    return link["url"] if link else None


def walk(client: AcmeClient) -> tuple[list[str], list[str]]:
    """Every order URL listed, following `next` (bounded), and the page URLs visited."""
    seen: list[str] = []
    visited: list[str] = []
    url: str | None = orders_url(client)
    while url is not None and len(visited) < MAX_PAGES:
        response = expect(client.post(url), 200)  # signed for the URL as given
        visited.append(url)
        seen += response.json()["orders"]
        url = next_link(response)
    assert url is None, "no last page within MAX_PAGES"
    return seen, visited


# (name, how to ask for page 2 with the owner and a stranger, status, problem)
BAD_PAGES = [
    ("jws-url-without-the-query", lambda c, _s, u: c.post(u, url_override=u.split("?")[0]),
     400, "malformed"),
    ("not-a-cursor", lambda c, _s, u: c.post(u.split("?")[0] + "?cursor=yesterday"), 400,
     "malformed"),
    ("cursor-with-a-bad-id", lambda c, _s, u: c.post(u.replace("_", "_x")), 400, "malformed"),
    ("cursor-out-of-range",
     lambda c, _s, u: c.post(u.replace("?cursor=", "?cursor=99999999999999999999")), 400,
     "malformed"),
    ("not-post-as-get", lambda c, _s, u: c.post(u, payload={}), 400, "malformed"),
    ("another-account", lambda _c, s, u: s.post(u), 403, "unauthorized"),
]


def test_the_orders_list_pages_through_every_order(client_for) -> None:
    """One test, so the 250 orders are made once whatever pytest-xdist does."""
    client = client_for()
    expect(client.new_account(), 201)
    made = make_orders(client)
    assert len(made) == ORDERS
    seen, pages = walk(client)
    assert len(pages) == 3 and all("?cursor=" in url for url in pages[1:]), pages
    assert len(seen) == len(set(seen)) == ORDERS
    assert set(seen) == made
    stranger = client_for()
    expect(stranger.new_account(), 201)
    for name, ask, status, problem in BAD_PAGES:
        response = ask(client, stranger, pages[1])
        assert response.status_code == status, (name, response.text)
        assert problem_type(response) == ERROR_PREFIX + problem, (name, response.text)
