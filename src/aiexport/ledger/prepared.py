"""The ledger's hot statements at the driver's speed (issue 11: at least 2,000 draws a second).

A draw runs eight statements. Through ``Connection.execute`` each one costs SQLAlchemy about 40 µs
of Python (the compiled-cache lookup, an execution context, a result object) against about 12 µs
in the driver, so SQLAlchemy's own per-statement machinery was most of a draw. A ``Prepared``
statement is a Core statement that SQLAlchemy compiles once per kind of database; it then runs SQLAlchemy's
compiled SQL, with SQLAlchemy's own bind and result processors (``Amount``'s micro-units on
SQLite, dates), straight on the driver's cursor of the connection the transaction holds. The
statements stay SQLAlchemy Core, written once for SQLite and PostgreSQL; only the execution is
direct. A driver error is raised as SQLAlchemy's (``DBAPIError.instance``), so the callers' retry
and lock-contention handling see what ``Connection.execute`` would have raised.

Only for the few statements every draw runs: no events, no logging, no statement options."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError


class Prepared:
    """A Core statement, compiled once per kind of database and run on the driver's cursor."""

    __slots__ = ("stmt", "keys", "_by")

    def __init__(self, stmt: Any, keys: Sequence[str] | None = None) -> None:
        """``keys``: for an INSERT or UPDATE, the columns given values (as ``column_keys``)."""
        self.stmt, self.keys = stmt, list(keys) if keys is not None else None
        self._by: dict[tuple, list] = {}

    def _compiled(self, dialect: Any) -> list:
        # by the kind of dialect, not by the instance: each engine has its own, and one is created
        # per call for some lookups (a read-only ledger), so a key per instance would grow for ever
        # (its processors hold the dialect: a weak key would never be let go either)
        key = (type(dialect), dialect.paramstyle, getattr(dialect, "server_version_info", None))
        got = self._by.get(key)
        if got is None:
            c = self.stmt.compile(dialect=dialect, column_keys=self.keys)
            names = list(c.positiontup) if c.positional else None
            types = [rc[3] for rc in c._result_columns]  # (SQLAlchemy's own: what CursorResult reads)
            # the values of the statement's own binds (a literal such as kind = 'draw'), None for the others
            fixed = c.construct_params(_check=False)
            # [sql, positional names, bind processors, result types, result processors (first run), fixed]
            got = self._by[key] = [c.string, names, dict(c._bind_processors), types, None, fixed]
        return got

    def rows(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """Run on the connection's transaction; the rows it returns (SELECT, RETURNING), processed."""
        dialect = conn.dialect
        entry = self._compiled(dialect)
        sql, names, binds, types, results, fixed = entry
        values = {**fixed, **params} if params else dict(fixed)
        for k, proc in binds.items():
            values[k] = proc(values[k])
        args = tuple(values[n] for n in names) if names is not None else values
        cur = conn.connection.dbapi_connection.cursor()
        try:
            cur.execute(sql, args)
            got = cur.fetchall() if types else []
            desc = cur.description if got and results is None else None
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(sql, args, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc
        finally:
            cur.close()
        if not got:
            return []
        if results is None:  # (PostgreSQL's numeric processor needs the column's type from the cursor)
            results = entry[4] = [t._cached_result_processor(dialect, d[1]) for t, d in zip(types, desc, strict=True)]
        if not any(results):
            return got
        return [tuple(v if p is None else p(v) for p, v in zip(results, row, strict=True)) for row in got]

    def one(self, conn: Connection, params: Mapping[str, Any] | None = None) -> tuple | None:
        """The one row returned, or None."""
        got = self.rows(conn, params)
        if len(got) > 1:
            raise AssertionError(f"more than one row from {self.stmt}")
        return got[0] if got else None
