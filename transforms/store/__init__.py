"""The CRM store: schema, connection, and the SQL that applies a plan."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from transforms.store.base import BaseStore, CrmStore
from transforms.store.duckdb_store import DuckDBStore, require_duckdb_file
from transforms.store.lock import RunLock
from transforms.store.options import StoreOptions
from transforms.store.schema import COLUMN_TYPES, ID_COLUMN, SCHEMA_VERSION
from transforms.store.urls import is_postgres


def open_store(target: str, *, wait: bool = True,
               on_wait: Callable[[str], None] | None = None, note: str = "", options: StoreOptions | None = None) -> CrmStore:
    """A store for `--db`: a DuckDB file path, or a postgresql:// URL.

    crm-import processes take turns on one CRM (a lock file beside a DuckDB file; an
    advisory lock on a server): a second one waits (calling `on_wait` with what holds it)
    or, with wait=False, is refused.
    """
    store: CrmStore
    if is_postgres(target):
        from transforms.store.postgres_store import PostgresStore

        store = PostgresStore(target, wait=wait, on_wait=on_wait, note=note, options=options)
    else:
        if target != ":memory:":
            require_duckdb_file(target)
        # beside the file itself: a link to it (or another spelling of its path) shares it
        lock = None if target == ":memory:" else RunLock(str(Path(target).resolve()) + ".lock")
        if lock is not None:
            lock.acquire(wait=wait, on_wait=on_wait, note=note, target=target)
        store = DuckDBStore(target, lock=lock, options=options)
    # we hold the CRM: a run still on record as going is one whose process is gone (a kill,
    # a power cut); its transaction rolled back, and the record says so
    store.execute(INTERRUPTED)
    return store


INTERRUPTED = ("UPDATE import_run SET status = 'interrupted' "
               "WHERE finished_at IS NULL AND status IN ('running', 'preview')")


__all__ = ["COLUMN_TYPES", "ID_COLUMN", "SCHEMA_VERSION", "BaseStore", "CrmStore", "DuckDBStore",
           "StoreOptions", "open_store"]
