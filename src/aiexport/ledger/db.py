"""Where the ledger lives and how its schema is brought up to date.

URL: --db option, else AIEXPORT_DATABASE_URL, else ./aiexport.db when that file exists, else
aiexport.db in the user's data directory. SQLite transactions are BEGIN IMMEDIATE (one writer
at a time, taken at the start, so a read-then-write can never be overtaken); PostgreSQL runs
READ COMMITTED with row locks taken by the service.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from aiexport.ledger.prepared import Prepared

ENV_URL = "AIEXPORT_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30
BUSY_ENV = "AIEXPORT_BUSY_TIMEOUT"


SYNC_ENV = "AIEXPORT_SQLITE_SYNCHRONOUS"


def sqlite_synchronous() -> str:
    """SQLite's synchronous pragma: FULL unless AIEXPORT_SQLITE_SYNCHRONOUS=normal."""
    return "NORMAL" if os.environ.get(SYNC_ENV, "").strip().lower() == "normal" else "FULL"


def busy_timeout() -> float:
    """Seconds a writer waits for another's lock (AIEXPORT_BUSY_TIMEOUT, default 30)."""
    try:
        return max(0.0, float(os.environ.get(BUSY_ENV, SQLITE_BUSY_TIMEOUT_S)))
    except ValueError:
        return float(SQLITE_BUSY_TIMEOUT_S)


def default_url() -> str:
    local = Path("aiexport.db")
    if local.exists():
        return f"sqlite:///{local.resolve()}"
    import platformdirs

    data = Path(platformdirs.user_data_dir("aiexport", appauthor=False))
    data.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data / 'aiexport.db'}"


class NoLedger(Exception):
    """A read-only command found no ledger at the URL (it never creates one)."""

    def __init__(self, url: str):
        self.url = url
        super().__init__(
            f"there is no ledger at {display_url(url)} (a read-only command never creates one: check --db / "
            f"{ENV_URL}, or record something first)"
        )


def display_url(url: str) -> str:
    """The URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is shown as given
        return url


def exists(url: str) -> bool:
    """Is there a ledger at url, without creating anything?"""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return bool(u.database) and Path(u.database).is_file() and Path(u.database).stat().st_size > 0
    return True  # a server database: checked by its schema revision once connected


def default_read_url() -> str | None:
    """Where a read-only command looks, creating no directory: ./aiexport.db or the data dir."""
    local = Path("aiexport.db")
    if local.exists():
        return f"sqlite:///{local.resolve()}"
    import platformdirs

    return f"sqlite:///{Path(platformdirs.user_data_dir('aiexport', appauthor=False)) / 'aiexport.db'}"


def resolve_url(url: str | None = None, *, read_only: bool = False) -> str:
    if read_only and not (url or os.environ.get(ENV_URL)):
        url = default_read_url()
    return _normalise(url)


def _normalise(url: str | None) -> str:
    url = url or os.environ.get(ENV_URL) or default_url()
    # A bare postgresql:// URL would pick psycopg2; the project ships psycopg (3).
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


_BEGIN_IMMEDIATE = Prepared(text("BEGIN IMMEDIATE"))


def create(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if not u.database or u.database == ":memory:":
            raise ValueError(
                "the ledger needs a SQLite file (several connections share it), not :memory:"
            )
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, connect_args={"timeout": busy_timeout()})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):
            # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE instead of pysqlite's deferred BEGIN.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL (default): a committed draw survives a power loss. NORMAL trades that for
            # throughput (WAL stays consistent; the last commits can be lost on power loss).
            cur.execute(f"PRAGMA synchronous={sqlite_synchronous()}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            _BEGIN_IMMEDIATE.rows(conn)  # (at the driver's speed: every write transaction runs it)

        return engine
    engine = create_engine(u)
    if u.get_backend_name() == "postgresql":

        @event.listens_for(engine, "connect")
        def _pg_connect(dbapi_conn, _record):
            # A row lock held by another writer is waited for as long as SQLite's busy timeout.
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET lock_timeout = '{int(busy_timeout() * 1000)}ms'")
            dbapi_conn.commit()

    return engine


def _alembic_config(connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _migration_lock(engine: Engine):
    """Only one process migrates at a time; the others wait, then find the schema current."""
    if engine.dialect.name == "sqlite":
        lock_path = f"{engine.url.database}.migrate-lock"
        with open(lock_path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(7305190001)"))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(7305190001)"))
                conn.commit()
    else:
        yield


def migrate(engine: Engine, revision: str = "head") -> str | None:
    """Upgrade (or downgrade) the schema to `revision`; returns the revision now in place."""
    from alembic import command

    with _migration_lock(engine):
        current = current_revision(engine)
        target = head_revision() if revision == "head" else revision
        if current != target:
            with engine.begin() as conn:
                cfg = _alembic_config(conn)
                if revision == "base" or (current is not None and _is_ancestor(target, current)):
                    command.downgrade(cfg, revision)
                else:
                    command.upgrade(cfg, revision)
        return current_revision(engine)


def _is_ancestor(candidate: str, of: str) -> bool:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(cfg)
    return (
        any(rev.revision == candidate for rev in script.iterate_revisions(of, "base"))
        and candidate != of
    )


_HEAD: str | None = None


def ensure_schema(engine: Engine) -> None:
    """Run the migrations when the database is behind (first use creates the schema)."""
    global _HEAD
    if _HEAD is None:
        _HEAD = head_revision()
    if current_revision(engine) != _HEAD:
        migrate(engine, "head")
