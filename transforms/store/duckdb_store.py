"""The DuckDB CRM store (the default): one file holding the CRM and its staging schema."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from contracts.errors import StoreUnavailable
from transforms.store.base import CrmStore, migrations, sql_file
from transforms.store.lock import RunLock
from transforms.store.options import StoreOptions
from transforms.store.schema import OUTCOME_LISTS, SCHEMA_VERSION, outcome_rows
from transforms.store.sql import STORED_STAGING_TABLES, cols, ident, insert_select, path_literal


def _explain_lock_error(message: str) -> str:
    """DuckDB's raw lock error → who holds the file, in words."""
    m = re.search(r"Conflicting lock is held in (\S+) \(PID (\d+)\)", message)
    if m:
        program = Path(m.group(1)).name
        return (f"the file is open in another program ({program}, PID {m.group(2)}), perhaps "
                "an analyst's session; close it there and try again")
    return message.splitlines()[0]


def as_arrow(frame: pl.DataFrame) -> Any:
    """A frame as DuckDB reads it without a copy: the newest Arrow layout keeps polars'
    string views as they are, where the classic one copies every string first (0.36 s for
    a scoring frame of 500k records, against 1 ms)."""
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


DUCKDB_MAGIC = b"DUCK"  # at byte 8 of every DuckDB database file


def require_duckdb_file(target: str) -> None:
    """A CRM file is a DuckDB database or a new path: DuckDB would open a CSV or JSON file
    as a read-only view beside an in-memory database, and an import would "complete" into
    nothing."""
    path = Path(target)
    if path.is_dir():
        raise StoreUnavailable(target, "is a folder, not a DuckDB database file",
                               hint="name a .duckdb file with --db")
    if path.is_file() and path.stat().st_size > 0:
        with path.open("rb") as fh:
            head = fh.read(12)
        if head[8:12] != DUCKDB_MAGIC:
            raise StoreUnavailable(target, "is not a DuckDB database (a CSV, JSON or other "
                                   "file?)", hint="give --db a .duckdb file, or a path where "
                                   "one is made")


class DuckDBStore(CrmStore):
    kind = "duckdb"
    json_object = "json_object"

    def __init__(self, path: str | Path, *, lock: RunLock | None = None, crm: bool = True,
                 options: StoreOptions | None = None):
        self.target = str(path)
        self.lock = lock
        self.options = options or StoreOptions()
        if self.target != ":memory:":
            Path(self.target).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.target)
        except duckdb.IOException as exc:
            if self.lock:
                self.lock.release()
            raise StoreUnavailable(self.target, _explain_lock_error(str(exc))) from None
        self._registered: list[str] = []
        if self.options.duckdb_memory:
            self.limit_memory(self.options.duckdb_memory)
        self.ensure_schema(crm=crm)

    # --- schema ---------------------------------------------------------------------------
    def ensure_schema(self, *, crm: bool = True) -> None:
        """Create the schema on first use; apply the migrations a older file lacks.
        (crm=False: only the staging tables, the DuckDB file beside a server store.)"""
        self.con.execute("BEGIN")
        self._canonical_into_raw_rows()
        kept = self._outcome_tables_aside()
        self._plan_view_before()
        self.con.execute(sql_file("staging.sql"))
        self._outcomes_from(kept)
        if not crm:
            self.con.execute("COMMIT")
            return
        self.con.execute(sql_file("schema.sql"))
        current = self.con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
        if current is not None and current > SCHEMA_VERSION:
            self.con.execute("ROLLBACK")
            raise StoreUnavailable(self.target, f"schema version {current} is newer than this "
                                   f"crm-import understands ({SCHEMA_VERSION}); upgrade crm-import")
        for version, sql in migrations():
            if current is None or version > current:
                for step in self.migration(sql):
                    self.con.execute(step)
        if current is None or current < SCHEMA_VERSION:
            self.con.execute("INSERT INTO schema_version VALUES (?, current_timestamp)",
                             [SCHEMA_VERSION])
        self.con.execute("COMMIT")

    def _canonical_into_raw_rows(self) -> None:
        """A file before staging.canonical became a view: its values move into
        staging.raw_rows.fields, one list a record (a value without its record keeps a row
        with no record)."""
        if ("canonical",) not in self.con.execute(STORED_STAGING_TABLES).fetchall():
            return
        self.con.execute("ALTER TABLE staging.raw_rows ADD COLUMN IF NOT EXISTS fields "
                         "STRUCT(field VARCHAR, value VARCHAR)[]")
        self.con.execute(
            "CREATE TEMP TABLE canonical_lists AS SELECT run_id, source_row, "
            "list({'field': field, 'value': value}) AS fields FROM staging.canonical "
            "GROUP BY run_id, source_row")
        self.con.execute(
            "UPDATE staging.raw_rows r SET fields = c.fields FROM canonical_lists c "
            "WHERE r.run_id = c.run_id AND r.source_row = c.source_row")
        self.con.execute(
            "INSERT INTO staging.raw_rows (run_id, source_row, fields) SELECT c.run_id, "
            "c.source_row, c.fields FROM canonical_lists c ANTI JOIN staging.raw_rows r "
            "ON r.run_id = c.run_id AND r.source_row = c.source_row")
        self.con.execute("DROP TABLE canonical_lists")
        self.con.execute("DROP TABLE staging.canonical")

    def _outcome_tables_aside(self) -> list[str]:
        """A file before staging.plan, .changes and .candidates became views over
        staging.outcomes: those tables renamed (`<name>_before`), for `_outcomes_from`."""
        stored = {t for (t,) in self.con.execute(STORED_STAGING_TABLES).fetchall()}
        kept = [name for name in OUTCOME_LISTS if name in stored]
        for name in kept:
            self.con.execute(f"ALTER TABLE {ident('staging.' + name)} RENAME TO "
                             f"{ident(name + '_before')}")
        return kept

    def _plan_view_before(self) -> None:
        """A file whose staging.plan does not read staging.created yet: the view dropped,
        for staging.sql to make it again."""
        view = self.con.execute("SELECT sql FROM duckdb_views() WHERE schema_name = 'staging' "
                                "AND view_name = 'plan'").fetchall()
        if view and "staging.created" not in view[0][0]:
            self.con.execute("DROP VIEW staging.plan")

    def _outcomes_from(self, kept: list[str]) -> None:
        """The rows of the tables `_outcome_tables_aside` renamed, into staging.outcomes (a
        row per run and source row, in the order they were written), a run at a time; the
        tables dropped."""
        if not kept:
            return
        before = {name: ident(f"staging.{name}_before") for name in kept}
        runs = " UNION ".join(f"SELECT run_id FROM {table}" for table in before.values())
        for (run_id,) in self.con.execute(runs).fetchall():
            frames = {name: self.query(
                f"SELECT source_row, {cols(OUTCOME_LISTS[name])} FROM {table} "
                "WHERE run_id IS NOT DISTINCT FROM ? ORDER BY rowid", [run_id])
                for name, table in before.items()}
            rows = outcome_rows(frames)
            if rows.height:
                self.append("staging.outcomes", rows.select(pl.lit(run_id, pl.String).alias(
                    "run_id"), pl.all()))
        for table in before.values():
            self.con.execute(f"DROP TABLE {table}")

    # --- queries --------------------------------------------------------------------------
    def query(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        return pl.DataFrame(self.con.sql(sql, params=params or None).to_arrow_table())

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        self.con.execute(sql, params or [])

    def limit_memory(self, limit: str) -> None:
        """DuckDB's buffer pool (cached blocks of the CRM file, spilled intermediates) may
        otherwise grow to 80% of the machine's memory."""
        self.con.execute("SET memory_limit = ?", [self.options.duckdb_memory or limit])

    def append(self, table: str, frame: pl.DataFrame) -> None:
        """Insert a frame's rows (columns by name) through a relation, not a registered view:
        a view dropped inside a transaction keeps its frame alive until the commit (a
        chunked import's load would hold every chunk's rows until the end)."""
        self.run_with(frame, lambda name: insert_select(table, frame.columns, name))

    def run_with(self, frame: pl.DataFrame, sql: Callable[[str], str]) -> None:
        """Run one statement that reads one frame (`sql(name)` gives it; no parameters)."""
        self.con.from_arrow(as_arrow(frame)).query("frame_rows", sql("frame_rows"))

    def cursor(self) -> DuckDBStore:
        """A second connection to the same database, for another thread (its own registered
        frames and transaction; the file lock stays with this one)."""
        other = object.__new__(DuckDBStore)
        other.target, other.lock, other._registered = self.target, None, []
        other.options = self.options
        other.con = self.con.cursor()
        return other

    def insert_json_field(self, alias: str, name: str) -> str:
        return (f"CASE WHEN {ident(alias)}.op = 'insert' THEN "
                f"json_extract_string({ident(alias)}.new_value, '$.{ident(name)[1:-1]}') END")

    def register(self, name: str, frame: pl.DataFrame) -> str:
        """Make a frame visible to SQL (as Arrow, no copy into the database)."""
        self.con.register(name, as_arrow(frame))
        self._registered.append(name)
        return name

    def unregister_all(self) -> None:
        for name in self._registered:
            with contextlib.suppress(Exception):
                self.con.unregister(name)
        self._registered.clear()

    def close(self) -> None:
        self.unregister_all()
        self.con.close()
        if self.lock:
            self.lock.release()

    def compact(self) -> str:
        """DuckDB keeps deleted values in the file's free blocks: copy the database into a
        new file and put it in the old one's place (the lock stays held throughout)."""
        if self.target == ":memory:":
            return "in memory: nothing to compact"
        path = Path(self.target)
        fresh = path.with_name(path.name + ".compacting")
        fresh.unlink(missing_ok=True)
        self.unregister_all()
        self.con.execute("CHECKPOINT")
        name = self.con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        self.con.execute(f"ATTACH {path_literal(str(fresh))} AS compacted")
        try:
            quoted = '"' + str(name).replace('"', '""') + '"'  # (the file's stem: any name)
            self.con.execute(f"COPY FROM DATABASE {quoted} TO compacted")
        finally:
            self.con.execute("DETACH compacted")
        before = path.stat().st_size
        self.con.close()
        Path(str(path) + ".wal").unlink(missing_ok=True)  # (checkpointed: nothing left in it)
        os.replace(fresh, path)
        self.con = duckdb.connect(self.target)
        if self.options.duckdb_memory:
            self.limit_memory(self.options.duckdb_memory)
        return f"{path}: rewritten, {before:,} → {path.stat().st_size:,} bytes"
