"""The CRM store: schema, connection, and the SQL that applies a plan."""

from __future__ import annotations

from collections.abc import Callable

from transforms.store.base import BaseStore
from transforms.store.duckdb_store import DuckDBStore
from transforms.store.lock import RunLock
from transforms.store.urls import is_postgres

SCHEMA_VERSION = 3  # = the newest file in store/migrations (schema.sql is version 1)

# CRM column types that are not text (for casts in updates and restores)
COLUMN_TYPES: dict[str, dict[str, str]] = {
    "company": {"company_id": "BIGINT"},
    "person": {"person_id": "BIGINT", "company_id": "BIGINT", "birth_date": "DATE"},
    "product": {"product_id": "BIGINT", "price_list_id": "BIGINT", "list_price": "DECIMAL(18, 4)",
                "min_price": "DECIMAL(18, 4)", "cost": "DECIMAL(18, 4)", "vat_rate": "DECIMAL(9, 4)",
                "in_assortment": "BOOLEAN"},
}

ID_COLUMN = {"company": "company_id", "person": "person_id", "phone": "phone_id",
             "email": "email_id", "url": "url_id", "interest": "interest_id",
             "list_item": "list_item_id", "product": "product_id",
             "price_list": "price_list_id", "change_log": "change_id"}


def open_store(target: str, *, wait: bool = True,
               on_wait: Callable[[str], None] | None = None, note: str = "") -> BaseStore:
    """A store for `--db`: a DuckDB file path, or a postgresql:// URL.

    crm-import processes take turns on one CRM (a lock file beside a DuckDB file; an
    advisory lock on a server): a second one waits (calling `on_wait` with what holds it)
    or, with wait=False, is refused.
    """
    if is_postgres(target):
        from transforms.store.postgres_store import PostgresStore

        return PostgresStore(target, wait=wait, on_wait=on_wait, note=note)
    lock = None if target == ":memory:" else RunLock(target + ".lock")
    if lock is not None:
        lock.acquire(wait=wait, on_wait=on_wait, note=note, target=target)
    return DuckDBStore(target, lock=lock)


__all__ = ["COLUMN_TYPES", "ID_COLUMN", "SCHEMA_VERSION", "BaseStore", "DuckDBStore", "open_store"]
