from __future__ import annotations

from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from aiexport.ledger import Ledger
from aiexport.ledger import db as dbmod
from aiexport.ledger.models import Base

ALL_TABLES = {
    "alembic_version",
    "audit_head",
    "audit_log",
    "auth_users",  # migration 0005 (issue 12)
    "ledger_accounts",
    "ledger_decisions",
    "ledger_entries",
    "ledger_holds",
    "ledger_users",
    "screening_dispositions",
    "screening_entries",
    "screening_list_versions",
    "screening_parties",
    "veu_authorizations",  # migration 0006 (issue 10)
}


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_there_are_at_least_two_migrations():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(dbmod.MIGRATIONS_DIR))
    revs = [r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()]
    # one linear chain, newest first (a second head would make "upgrade head" ambiguous)
    assert revs == sorted(revs, reverse=True) and revs[-1] == "0001" and len(revs) >= 2


def test_migrations_create_the_schema_from_empty_and_match_the_models(db_url):
    engine = dbmod.create(dbmod.resolve_url(db_url))
    assert _tables(engine) == set()
    assert dbmod.migrate(engine, "head") == dbmod.head_revision()
    assert _tables(engine) == ALL_TABLES
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    engine.dispose()


def test_upgrade_from_the_first_migration_keeps_the_data(db_url):
    engine = dbmod.create(dbmod.resolve_url(db_url))
    assert dbmod.migrate(engine, "0001") == "0001"
    assert _tables(engine) == {
        "alembic_version",
        "audit_head",
        "audit_log",
        "ledger_accounts",
        "ledger_entries",
    }
    amount = 7_000_000 if engine.dialect.name == "sqlite" else 7  # SQLite stores micro-units
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ledger_accounts (name, kind, unit, limit_amount, attributes, created_at, created_by) "
                "VALUES ('old', 'license', 'units', :lim, '{}', '2025-01-01T00:00:00.000000Z', 'v1')"
            ),
            {"lim": amount * 10},
        )
        conn.execute(
            text(
                "INSERT INTO ledger_entries (account_id, kind, amount, ref, actor, created_at) "
                "SELECT id, 'draw', :amt, 'r1', 'v1', '2025-01-01T00:00:00.000000Z' FROM ledger_accounts WHERE name = 'old'"
            ),
            {"amt": amount},
        )
    engine.dispose()
    # First use by the current code upgrades the schema.
    led = Ledger(db_url)
    assert dbmod.current_revision(led.engine) == dbmod.head_revision()
    assert _tables(led.engine) == ALL_TABLES
    b = led.balance("old")
    assert (b.limit, b.drawn) == (Decimal(70), Decimal(7))
    assert led.history("old")[0].get("decision_id") is None
    assert led.draw("old", 3, "r2").remaining == Decimal(60)
    led.close()


def test_downgrade_to_base_and_back(db_url):
    engine = dbmod.create(dbmod.resolve_url(db_url))
    dbmod.migrate(engine, "head")
    assert dbmod.migrate(engine, "base") is None
    assert _tables(engine) <= {"alembic_version"}
    assert dbmod.migrate(engine, "head") == dbmod.head_revision()
    engine.dispose()
