"""store.filters.Where: None leaves a filter out; the cursor of a page; named parameters."""
from __future__ import annotations

import uuid

import pytest
from support.rows import NOW

from acmeeh.store.filters import Where, listing
from acmeeh.store.paging import KID_KEY, Page


@pytest.mark.parametrize(("build", "text", "params"), [
    (lambda: Where(), "true", {}),
    (lambda: Where().equal("status", None), "true", {}),
    (lambda: Where().equal("status", "valid"), "status = %(status)s", {"status": "valid"}),
    (lambda: Where().equal("a.status", "valid").add("x > %(x)s", x=None),
     "a.status = %(status)s", {"status": "valid"}),
    (lambda: Where().add("revoked_at IS NOT NULL").equal("kind", "k"),
     "revoked_at IS NOT NULL AND kind = %(kind)s", {"kind": "k"}),
])
def test_conditions(build, text: str, params: dict) -> None:
    where = build()
    assert (where.sql().as_string(None), where.params) == (text, params)


def test_after_the_cursor_of_a_page() -> None:
    assert Where.after(Page(limit=5)).sql().as_string(None) == "true"
    key = str(uuid.uuid4())
    where = Where.after(Page(limit=5, after_created=NOW, after_key=key), KID_KEY, alias="e")
    assert where.sql().as_string(None) == '(e.created_at, e.kid COLLATE "C") < (%(after_created)s, %(after_key)s COLLATE "C")'
    assert where.params == {"after_created": NOW, "after_key": key}


def test_the_database_accepts_what_it_builds(conn) -> None:
    where = Where.after(Page(limit=1, after_created=NOW, after_key=str(uuid.uuid4())))
    where.equal("status", "valid")
    row = conn.execute(listing("SELECT count(*) FROM accounts WHERE {where}", where),
                       where.params).fetchone()
    assert row == (0,)


def test_a_where_is_never_formatted_into_text() -> None:
    """Only listing() puts a Where into a statement (psycopg.sql), never str() or an f-string."""
    with pytest.raises(TypeError):
        f"SELECT 1 WHERE {Where().equal('status', 'valid')}"  # noqa: B018
