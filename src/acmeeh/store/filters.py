"""The WHERE clause of a listing, built from optional filters with named parameters.

    # LIST, a named statement: SELECT ... FROM t WHERE {where} {order} LIMIT %(limit)s
    where = Where.after(page)            # keyset position of the page (paging.py)
    where.equal("scope", scope)          # left out when scope is None
    fetch_all(conn, Row, listing(LIST, where, order_by()), where.params | {"limit": page.limit + 1})

A filter whose value is None is left out of the statement, rather than compared with
`(%s IS NULL OR column = %s)`, so each combination gets the plan its conditions deserve.
The conditions are SQL text this package writes (never a value: values are parameters), and
they reach the statement through psycopg.sql composition, not string formatting.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from .paging import UUID_KEY, Page


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
