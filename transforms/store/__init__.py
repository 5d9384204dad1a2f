"""The CRM store: schema, connection, and the SQL that applies a plan."""

from __future__ import annotations

from transforms.store.duckdb_store import DuckDBStore

SCHEMA_VERSION = 1

# CRM column types that are not text (for casts in updates and restores)
COLUMN_TYPES: dict[str, dict[str, str]] = {
    "company": {"company_id": "BIGINT"},
    "person": {"person_id": "BIGINT", "company_id": "BIGINT", "birth_date": "DATE"},
}

ID_COLUMN = {"company": "company_id", "person": "person_id", "phone": "phone_id",
             "email": "email_id", "url": "url_id", "interest": "interest_id",
             "list_item": "list_item_id", "product": "product_id",
             "price_list": "price_list_id", "change_log": "change_id"}


def open_store(target: str) -> DuckDBStore:
    """A store for `--db`: a DuckDB file path (a postgresql:// URL later)."""
    from contracts.errors import StoreUnavailable

    if target.startswith(("postgresql://", "postgres://")):
        raise StoreUnavailable(target, "the PostgreSQL store is not available in this version")
    return DuckDBStore(target)


__all__ = ["COLUMN_TYPES", "ID_COLUMN", "SCHEMA_VERSION", "DuckDBStore", "open_store"]
