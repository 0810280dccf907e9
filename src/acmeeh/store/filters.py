"""The WHERE clause of a listing, built from optional filters with named parameters, and the
one read of a page of an admin listing.

    where = Where().equal("scope", scope)    # left out when scope is None
    fetch_page(conn, Row, "table", page, where)

A filter whose value is None is left out of the statement, rather than compared with
`(%s IS NULL OR column = %s)`, so each combination gets the plan its conditions deserve.
The conditions are SQL text this package writes (never a value: values are parameters), and
they reach the statement through psycopg.sql composition, not string formatting.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from .db import R, fetch_all
from .paging import UUID_KEY, Page, order_by
from .records import columns

# A page of one table's rows, newest first (paging.py): every admin listing reads through it.
PAGE = """
SELECT {columns} FROM {table} WHERE {where} {order} LIMIT %(limit)s
"""


@dataclass
class Where:
    conditions: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def after(cls, page: Page, key: tuple[str, str] = UUID_KEY, *, alias: str = "") -> Where:
        """Rows after the cursor position of `page` (none on the first page), in the order of
        paging.order_by(key, alias=alias): newest first."""
        where = cls()
        if page.after_created is not None and page.after_key is not None:
            prefix = f"{alias}." if alias else ""
            column = key[0].format(p=prefix)
            where.add(f"({prefix}created_at, {column}) < (%(after_created)s, {key[1]})",
                      after_created=page.after_created, after_key=page.after_key)
        return where

    def add(self, condition: str, **params: Any) -> Where:
        """Add `condition` (its placeholders named after `params`) unless a value is None."""
        if all(value is not None for value in params.values()):
            self.conditions.append(condition)
            self.params.update(params)
        return self

    def equal(self, column: str, value: Any) -> Where:
        """`column = value`, unless value is None (the parameter is named after the column)."""
        name = column.rsplit(".", 1)[-1]
        return self.add(f"{column} = %({name})s", **{name: value})

    def __str__(self) -> str:
        # A Where reaches a statement only through listing() (psycopg.sql composition).
        raise TypeError("compose a Where into its statement with store.filters.listing")

    def sql(self) -> sql.Composable:
        """The conditions joined by AND (`true` when there are none)."""
        if not self.conditions:
            return sql.SQL("true")
        return sql.SQL(" AND ").join(sql.SQL(c) for c in self.conditions)


def listing(statement: str, where: Where, order: sql.Composable = sql.SQL("")) -> sql.Composed:
    """A named listing statement with its `{where}` (and `{order}`) placeholders filled in."""
    return sql.SQL(statement).format(where=where.sql(), order=order)


def fetch_page(conn: psycopg.Connection, record: type[R], table: str, page: Page,
               where: Where | None = None, *, key: tuple[str, str] = UUID_KEY) -> list[R]:
    """One keyset page of `table`'s rows that match `where`, as `record`s (its fields are the
    columns read), newest first by (created_at, `key`): limit + 1 rows, the extra one telling
    that another page follows."""
    after = Where.after(page, key)
    if where is not None:
        after = Where(after.conditions + where.conditions, after.params | where.params)
    row_type: type = record  # columns() is cached: its argument must be Hashable, as types are
    query = sql.SQL(PAGE).format(columns=sql.SQL(columns(row_type)), table=sql.Identifier(table),
                                 where=after.sql(), order=order_by(key))
    return fetch_all(conn, record, query, after.params | {"limit": page.limit + 1})
