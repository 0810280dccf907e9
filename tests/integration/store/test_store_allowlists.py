"""store/allowlists.py: optional filters and keyset pages of the listing (store.filters.Where)."""
from __future__ import annotations

import uuid

import pytest

from acmeeh.store import allowlists
from acmeeh.store.paging import Page


@pytest.fixture
def entries(conn) -> list[allowlists.AllowlistRow]:
    made = []
    for scope, scope_id, value in [("global", "", "a.test"), ("eab", "kid-1", "b.test"),
                                   ("eab", "kid-2", "c.test"), ("account", "x", "d.test")]:
        row = allowlists.insert_entry(conn, uuid.uuid4(), scope=scope, scope_id=scope_id,
                                      kind="suffix", value=value, created_by=None)
        assert row is not None
        made.append(row)
    return made


@pytest.mark.parametrize(("scope", "scope_id", "values"), [
    (None, None, {"a.test", "b.test", "c.test", "d.test"}),
    ("eab", None, {"b.test", "c.test"}),
    ("eab", "kid-2", {"c.test"}),
    (None, "x", {"d.test"}),
    ("global", "x", set()),
])
def test_filters_left_out_when_none(conn, entries, scope, scope_id, values) -> None:
    rows = allowlists.list_entries(conn, Page(limit=10), scope=scope, scope_id=scope_id)
    assert {r.value for r in rows} == values


def test_pages_follow_the_cursor_without_overlap(conn, entries) -> None:
    first = allowlists.list_entries(conn, Page(limit=2))[:2]
    last = first[-1]
    rest = allowlists.list_entries(conn, Page(limit=10, after_created=last.created_at,
                                              after_key=str(last.id)))
    assert len(first) + len(rest) == 4
    assert not {r.id for r in first} & {r.id for r in rest}


def test_insert_is_idempotent_and_delete_returns_the_row(conn, entries) -> None:
    again = allowlists.insert_entry(conn, uuid.uuid4(), scope="global", scope_id="",
                                    kind="suffix", value="a.test", created_by=None)
    assert again is None
    gone = allowlists.delete_entry(conn, entries[0].id)
    assert gone == entries[0] and allowlists.get_entry(conn, entries[0].id) is None
