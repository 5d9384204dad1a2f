"""Configuration from the environment, read here (flows/) and passed down: nothing in
transforms/ or contracts/ reads an environment variable.

| variable | what |
|---|---|
| CRM_IMPORT_DB | the CRM when --db is not given (default data/crm.duckdb) |
| CRM_IMPORT_DUCKDB_MEMORY | DuckDB's memory_limit for the CRM file (e.g. 2GB) |
| CRM_IMPORT_STAGING | the DuckDB file holding a server CRM's staging tables |
| CRM_IMPORT_DB_SECRET | a Prefect Secret block holding a server CRM's password |
| CRM_IMPORT_MAX_UNPACKED_MB | how far a part of a zipped workbook may unpack (default 2048) |
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from flows.secrets import prefect_secret_password

if TYPE_CHECKING:  # (the stores need polars; the CLI reads the defaults here without it)
    from transforms.store import CrmStore, StoreOptions

DEFAULT_DB = "data/crm.duckdb"


def default_db(db: str | None = None) -> str:
    return db or os.environ.get("CRM_IMPORT_DB") or DEFAULT_DB


def store_options() -> StoreOptions:
    from transforms.store import StoreOptions

    return StoreOptions(duckdb_memory=os.environ.get("CRM_IMPORT_DUCKDB_MEMORY") or None,
                        staging_path=os.environ.get("CRM_IMPORT_STAGING") or None,
                        password=prefect_secret_password)


def open_crm(target: str, *, wait: bool = True, on_wait: Callable[[str], None] | None = None,
             note: str = "") -> CrmStore:
    """`transforms.store.open_store` with the options the environment gives."""
    from transforms.store import open_store

    return open_store(target, wait=wait, on_wait=on_wait, note=note, options=store_options())


def max_unpacked_mb() -> int:
    """How far a part of a zipped workbook may unpack before it is refused as a bomb."""
    from transforms.sources.sniff import MAX_UNPACKED_MB

    given = os.environ.get("CRM_IMPORT_MAX_UNPACKED_MB", "")
    return int(given) if given.isdigit() else MAX_UNPACKED_MB
