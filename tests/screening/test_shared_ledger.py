"""The overlay's ledger handle: one per database and process, renewed when the file is replaced."""

from __future__ import annotations

from aiexport.screening import store


def test_one_handle_per_database_renewed_when_the_file_is_replaced(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    a = store.shared_ledger(url)
    a.close()  # a no-op: the handle stays usable
    assert store.shared_ledger(url) is a
    assert store.versions(a) == []
    other = store.shared_ledger(f"sqlite:///{tmp_path / 'b.db'}")
    assert other is not a
    (tmp_path / "a.db").unlink()
    for p in tmp_path.glob("a.db-*"):
        p.unlink()
    b = store.shared_ledger(url)  # a fresh database at the same path gets a fresh handle
    assert b is not a
    assert store.versions(b) == []
