"""Cursor pagination: page sizes, the last page, Link rel="next", bad limits and cursors."""
from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
from admin_support import AdminClient, problem

MAX_PAGE = 50  # admin_api.max_page_size of the test server
COUNT = 7


def b64json(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def scoped(admin_server, root_password: str) -> tuple[str, list[str]]:
    """COUNT allowlist entries under a fresh EAB key: (kid, entry ids newest first)."""
    admin = AdminClient(admin_server).as_user("root", root_password)
    kid = admin.post("/eab", {"label": "paging"}).json()["kid"]
    ids = [admin.post("/allowlists", {"scope": "eab", "scope_id": kid, "kind": "name",
                                      "value": f"p{i}-{uuid.uuid4().hex[:6]}.example.com"}
                      ).json()["id"] for i in range(COUNT)]
    return kid, ids[::-1]


@pytest.mark.parametrize(("limit", "sizes"), [
    (1, [1] * COUNT), (3, [3, 3, 1]), (6, [6, 1]), (COUNT, [COUNT]), (MAX_PAGE, [COUNT]),
    (None, [COUNT]),
])
def test_page_sizes(admin: AdminClient, scoped, limit: int | None, sizes: list[int]) -> None:
    kid, ids = scoped
    params = {"scope_id": kid} | ({"limit": str(limit)} if limit else {})
    pages = list(admin.pages("/allowlists", params))
    assert [len(p["items"]) for p in pages] == sizes
    assert [e["id"] for p in pages for e in p["items"]] == ids  # newest first, no gaps or repeats
    assert pages[-1]["next_cursor"] is None


def test_link_header_matches_next_cursor(admin: AdminClient, scoped) -> None:
    kid, ids = scoped
    first = admin.get("/allowlists", params={"scope_id": kid, "limit": "4"})
    cursor = first.json()["next_cursor"]
    link = re.fullmatch(r'<([^>]+)>; rel="next"', first.headers["Link"])
    assert link and f"cursor={cursor}" in link.group(1) and "limit=4" in link.group(1)
    following = admin.get(link.group(1))
    assert [e["id"] for e in following.json()["items"]] == ids[4:]
    assert "Link" not in following.headers


def test_empty_list(admin: AdminClient) -> None:
    resp = admin.get("/allowlists", params={"scope_id": "kid-nothing-here"})
    assert resp.json() == {"items": [], "next_cursor": None} and "Link" not in resp.headers


@pytest.mark.parametrize("limit", ["0", "-1", str(MAX_PAGE + 1), "abc", "1.5", "", " 3", "٣",
                                   "99999999999999999999999"])
def test_bad_limits(admin: AdminClient, limit: str) -> None:
    problem(admin.get("/allowlists", params={"limit": limit}), 400, "badRequest")


@pytest.mark.parametrize("cursor", [
    "!!!",
    b64json("not a list"),
    b64json({"a": 1}),
    b64json(["2026-01-01T00:00:00", str(uuid.uuid4())]),  # no UTC offset
    b64json(["2026-01-01T00:00:00Z", "not-a-uuid"]),
    b64json(["yesterday", str(uuid.uuid4())]),
    b64json(["2026-01-01T00:00:00Z", ""]),
    b64json(["2026-01-01T00:00:00Z", str(uuid.uuid4()), "extra"]),
    b64json([1, 2]),
    "A" * 600,
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
], ids=["not-base64", "string", "object", "naive-time", "bad-key", "bad-time", "empty-key",
        "three-items", "numbers", "too-long", "not-utf8"])
def test_bad_cursors(admin: AdminClient, cursor: str) -> None:
    problem(admin.get("/allowlists", params={"cursor": cursor}), 400, "badRequest")


def test_cursor_kinds_do_not_mix(admin: AdminClient) -> None:
    for _ in range(2):
        admin.post("/eab", {"label": "mix"})
    eab_cursor = admin.get("/eab", params={"limit": "1"}).json()["next_cursor"]
    problem(admin.get("/allowlists", params={"cursor": eab_cursor}), 400)  # kid is no uuid


def test_text_keyed_pages_and_concurrent_inserts(admin: AdminClient) -> None:
    """EAB keys page by (created_at, kid); rows created while paging do not repeat any."""
    for _ in range(3):
        admin.post("/eab", {"label": "page"})
    seen: list[str] = []
    params = {"limit": "2"}
    for _ in range(200):
        page = admin.get("/eab", params=params).json()
        assert len(page["items"]) <= 2
        seen += [k["kid"] for k in page["items"]]
        admin.post("/eab", {"label": "inserted while paging"})  # newer: lands before the cursor
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == len(set(seen))


def test_repeated_and_unknown_parameters(admin: AdminClient) -> None:
    problem(admin.get("/allowlists?limit=1&limit=2"), 400)
    problem(admin.get("/allowlists", params={"offset": "10"}), 400)
