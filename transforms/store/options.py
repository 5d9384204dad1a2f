"""How a store is opened beyond its target: given by flows/ (which reads the environment),
never read by the stores themselves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class StoreOptions:
    # DuckDB's memory_limit for the CRM file (e.g. "2GB"); None: DuckDB's default, or what
    # a chunked run asks for
    duckdb_memory: str | None = None
    # the DuckDB file that holds a server CRM's staging tables (None: data/staging/<server>)
    staging_path: str | None = None
    # a server CRM's password where the URL gives none (a Prefect Secret block, say)
    password: Callable[[], str | None] | None = None
