"""The PostgreSQL CRM store: the same schema and the same SQL as the DuckDB store, on a server.

Dialect differences live here and nowhere else:
- placeholders: the shared SQL writes `?`, psycopg wants `%s`;
- a registered frame becomes a temporary table filled with one COPY (DuckDB reads the
  Arrow frame in place);
- column types of results come from the server's type ids;
- one crm-import at a time per CRM: a session advisory lock (DuckDB: a lock file);
- the staging tables live in a DuckDB file on this machine (SPEC §5), not on the server.

The password never leaves this module: the target shown in errors, run records and
summaries is the URL with the password masked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polars as pl

from contracts.errors import StoreUnavailable
from transforms.store.base import CrmStore, migrations, sql_file
from transforms.store.options import StoreOptions
from transforms.store.schema import SCHEMA_VERSION
from transforms.store.sql import cols, ident
from transforms.store.urls import safe_connection

# (classid, objid) of the advisory lock: "crm-" as an int, 0. One lock per database.
LOCK_KEY = (0x63726D2D, 0)
_NULL = "\x01N"
COPY_CHUNK = 100_000  # COPY's null marker: no CRM value holds a control character like this

# server type id → polars type (everything else arrives as text)
_TYPES: dict[int, pl.DataType] = {
    16: pl.Boolean(), 20: pl.Int64(), 21: pl.Int16(), 23: pl.Int32(), 700: pl.Float32(),
    701: pl.Float64(), 1082: pl.Date(), 1114: pl.Datetime("us"),
    1184: pl.Datetime("us", "UTC"),
}


def _pg_type(dtype: pl.DataType) -> str:
    """The column type of a registered frame's temporary table."""
    if dtype in (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16):
        return "INTEGER"
    if dtype.is_integer():
        return "BIGINT"
    if dtype.is_float():
        return "DOUBLE PRECISION"
    if isinstance(dtype, pl.Decimal):
        return f"NUMERIC({dtype.precision or 38}, {dtype.scale or 0})"
    if dtype == pl.Boolean:
        return "BOOLEAN"
    if dtype == pl.Date:
        return "DATE"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ" if dtype.time_zone else "TIMESTAMP"
    if dtype.is_nested():
        raise TypeError(f"a nested column ({dtype}) cannot be registered in PostgreSQL")
    return "TEXT"


def _placeholders(sql: str) -> str:
    """`?` → `%s` (the shared SQL has no `?` or `%` inside its literals)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _explain_connect(exc: Exception, password: str | None) -> str:
    text = str(exc).strip().splitlines()
    message = text[-1] if text else type(exc).__name__
    full = " ".join(text)
    if password:
        message = message.replace(password, "***")
    if "password authentication failed" in full or "no password supplied" in full:
        return ("the server refused the login (wrong user or password); give the password "
                "in the URL, in PGPASSWORD or ~/.pgpass, or in a Prefect Secret block named "
                "by CRM_IMPORT_DB_SECRET")
    if "does not exist" in full and "database" in full:
        return f"{message}; create it first (createdb) or name an existing database"
    if "Connection refused" in full or "could not translate host name" in full \
            or "timeout expired" in full or "No route to host" in full:
        return f"the server cannot be reached ({message}); is PostgreSQL running there?"
    return message


def staging_path_for(url: str, given: str | None = None) -> Path:
    """The DuckDB file holding this server CRM's staging tables on this machine (`given`:
    the one the user named, CRM_IMPORT_STAGING)."""
    if env := given:
        if Path(env).stem == "staging":  # DuckDB names the catalog after the file
            raise StoreUnavailable(env, "a staging file may not be named staging.duckdb (its "
                                   "name would clash with the staging schema); name it otherwise")
        return Path(env)
    parts = urlsplit(url)
    label = f"{parts.hostname or 'local'}-{parts.port or 5432}-{parts.path.strip('/') or 'postgres'}"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)
    return Path("data") / "staging" / f"{safe}.duckdb"


class PostgresStore(CrmStore):
    kind = "postgresql"
    json_object = "json_build_object"

    def __init__(self, url: str, *, wait: bool = True,
                 on_wait: Callable[[str], None] | None = None, note: str = "",
                 options: StoreOptions | None = None):
        import psycopg

        self.target = safe_connection(url)
        self._url = url
        self.options = options or StoreOptions()
        self._staging: CrmStore | None = None
        self._registered: list[str] = []
        password = urlsplit(url).password
        extra: dict[str, Any] = {}
        source = self.options.password if password is None else None
        if source is not None and (secret := source()):  # (flows: a Prefect Secret block)
            extra["password"] = password = secret
        try:
            self.con = psycopg.connect(url, autocommit=True, connect_timeout=10,
                                       application_name="crm-import", **extra)
        except psycopg.Error as exc:
            raise StoreUnavailable(self.target, _explain_connect(exc, password)) from None
        try:
            self.con.execute("SET TIME ZONE 'UTC'")
            self._take_lock(wait=wait, on_wait=on_wait, note=note)
            self.ensure_schema()
        except BaseException:
            self.con.close()
            raise

    # --- one crm-import at a time -----------------------------------------------------------
    def _take_lock(self, *, wait: bool, on_wait: Callable[[str], None] | None, note: str) -> None:
        if not self.scalar("SELECT pg_try_advisory_lock(?, ?)", list(LOCK_KEY)):
            held_by = self.holder()
            if not wait:
                raise StoreUnavailable(self.target, f"in use by {held_by}; not waiting (--no-wait)")
            if on_wait:
                on_wait(held_by)
            self.scalar("SELECT pg_advisory_lock(?, ?)", list(LOCK_KEY))
        self.update_note(note)

    def holder(self) -> str:
        found = self.query(
            "SELECT a.application_name, a.pid, a.client_addr::text AS addr, a.backend_start "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ? AND l.objid = ?",
            [LOCK_KEY[0], LOCK_KEY[1]])
        if found.height == 0:
            return "another crm-import"
        row = found.row(0, named=True)
        what = (row["application_name"] or "crm-import").removeprefix("crm-import: ")
        where = f" from {row['addr']}" if row["addr"] else ""
        return f"{what} (server PID {row['pid']}{where}, since {row['backend_start']:%H:%M:%S})"

    def update_note(self, note: str) -> None:
        """Say what holds the CRM (a waiting process shows it): the session's application name."""
        self.execute("SELECT set_config('application_name', ?, false)",
                     [f"crm-import: {note}"[:63] if note else "crm-import"])

    # --- schema -----------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create the schema on first use (in one transaction: all or nothing); apply the
        migrations an older database lacks. A current database needs no rights beyond
        reading and writing its tables."""
        import psycopg

        current = (self.schema_version()
                   if self.scalar("SELECT to_regclass('schema_version') IS NOT NULL") else None)
        if current is not None and current > SCHEMA_VERSION:
            raise StoreUnavailable(self.target, f"schema version {current} is newer than this "
                                   f"crm-import understands ({SCHEMA_VERSION}); upgrade crm-import")
        if current == SCHEMA_VERSION:
            return
        try:
            with self.transaction():
                self.con.execute(sql_file("schema.sql"))
                for version, sql in migrations():
                    if current is None or version > current:
                        for step in self.migration(sql):
                            self.con.execute(step)
                self.execute("INSERT INTO schema_version VALUES (?, current_timestamp)",
                              [SCHEMA_VERSION])
        except psycopg.errors.InsufficientPrivilege as exc:
            user = self.scalar("SELECT current_user")
            raise StoreUnavailable(self.target, (
                "the database has no crm-import schema" if current is None else
                f"the crm-import schema is at version {current}, this crm-import needs "
                f"{SCHEMA_VERSION}") + f", and user {user} may not create it "
                f"({str(exc).splitlines()[0]}); ask its owner to run `crm-import init-db "
                "--db URL` once, or to grant CREATE on the schema") from None

    # --- queries ----------------------------------------------------------------------------
    def _run(self, sql: str, params: list[Any] | None) -> Any:
        return self.con.execute(_placeholders(sql), params) if params else self.con.execute(sql)

    def query(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        cur = self._run(sql, params)
        if cur.description is None:
            return pl.DataFrame()
        schema = {d.name: _dtype(d) for d in cur.description}
        return pl.DataFrame(cur.fetchall(), schema=schema, orient="row")

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        row = self._run(sql, params).fetchone()
        return row[0] if row else None

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        self._run(sql, params)

    def insert_json_field(self, alias: str, name: str) -> str:
        # (CASE: only an insert's value is JSON; PostgreSQL's ::json would fail on the rest)
        return (f"CASE WHEN {ident(alias)}.op = 'insert' THEN "
                f"({ident(alias)}.new_value::json ->> '{ident(name)[1:-1]}') END")

    def register(self, name: str, frame: pl.DataFrame) -> str:
        """A temporary table holding the frame, filled with one COPY (text CSV: the server
        parses it; ~0.5 s per million rows of three columns here)."""
        columns = ", ".join(f"{ident(c)} {_pg_type(t)}" for c, t in frame.schema.items())
        self.con.execute(f"DROP TABLE IF EXISTS pg_temp.{ident(name)}")
        self.con.execute(f"CREATE TEMPORARY TABLE {ident(name)} ({columns})")
        self._registered.append(name)
        if frame.height:
            self._copy_in(ident(name), frame)
            if frame.height > 10_000:  # the planner has no statistics on a fresh temp table
                self.con.execute(f"ANALYZE {ident(name)}")
        return name

    def append(self, table: str, frame: pl.DataFrame) -> None:
        """Straight into the table with COPY (no temporary table in between)."""
        if frame.height:
            self._copy_in(f"{ident(table)} ({cols(frame.columns)})", frame)

    def _copy_in(self, target: str, frame: pl.DataFrame) -> None:
        """One COPY, fed 100k rows at a time (the CSV text of a whole large frame would
        sit in memory beside it)."""
        with self.con.cursor().copy(f"COPY {target} FROM STDIN (FORMAT csv, NULL '{_NULL}')") as copy:
            for start in range(0, frame.height, COPY_CHUNK):
                copy.write(frame.slice(start, COPY_CHUNK).write_csv(
                    include_header=False, null_value=_NULL, quote_style="non_numeric",
                    datetime_format="%Y-%m-%dT%H:%M:%S%.f%z").encode("utf-8"))

    def unregister_all(self) -> None:
        for name in dict.fromkeys(self._registered):
            with contextlib.suppress(Exception):
                self.con.execute(f"DROP TABLE IF EXISTS pg_temp.{ident(name)}")
        self._registered.clear()

    @property
    def staging(self) -> CrmStore:
        if self._staging is None:
            from transforms.store.duckdb_store import DuckDBStore

            self._staging = DuckDBStore(staging_path_for(self._url, self.options.staging_path),
                                        crm=False)
        return self._staging

    def compact(self) -> str:
        """PostgreSQL keeps old row versions until they are vacuumed: VACUUM FULL rewrites
        the tables purge changed (it needs their owner; without that it only warns), and
        the staging file beside is rewritten too."""
        import psycopg

        said = []
        for table in ("change_log_entry", "import_run", "selection_member"):
            try:
                self.con.execute(f"VACUUM FULL {ident(table)}")  # (autocommit: no transaction)
                said.append(table)
            except psycopg.Error as exc:  # e.g. not the owner
                said.append(f"{table} not vacuumed ({str(exc).splitlines()[0]})")
        return f"{self.target}: VACUUM FULL {', '.join(said)}; " + self.staging.compact()

    def close(self) -> None:
        if self._staging is not None:
            self._staging.close()
            self._staging = None
        with contextlib.suppress(Exception):
            self.unregister_all()
        self.con.close()  # ends the session: the advisory lock goes with it


def _dtype(column: Any) -> pl.DataType:
    if column.type_code == 1700:  # numeric(p, s)
        return pl.Decimal(column.precision or 38, column.scale or 0)
    return _TYPES.get(column.type_code, pl.String())

