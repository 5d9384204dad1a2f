"""`CrmStore`: what every CRM store offers, and what they share (id reservation,
transactions, appending frames).

A store offers `query` (→ polars), `scalar`, `execute` (params bound, `?` placeholders),
`register` (a frame visible to SQL by name) and `transaction`. The SQL the pipeline runs
is the same for every store (`transforms.store.sql`); what differs between dialects lives
in the store classes' small hooks (`insert_json_field`, `run_with`, `limit_memory`).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import polars as pl

from transforms.store.schema import ID_COLUMN, TOP_ID
from transforms.store.sql import ident, insert_select


def sql_file(name: str) -> str:
    return resources.files("transforms.store").joinpath(name).read_text(encoding="utf-8")


def migrations() -> list[tuple[int, str]]:
    """(version, sql) of every migration, in order: migrations/NNN_name.sql."""
    folder = resources.files("transforms.store").joinpath("migrations")
    found = [(int(f.name.split("_", 1)[0]), f.read_text(encoding="utf-8"))
             for f in folder.iterdir() if f.name.endswith(".sql")]
    return sorted(found)


class CrmStore(ABC):
    kind = ""
    target = ""
    json_object = ""  # the dialect's JSON constructor from key, value, … (in migrations)

    # --- implemented by each store ----------------------------------------------------------
    @abstractmethod
    def query(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        ...

    @abstractmethod
    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        ...

    @abstractmethod
    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        ...

    @abstractmethod
    def register(self, name: str, frame: pl.DataFrame) -> str:
        ...

    @abstractmethod
    def unregister_all(self) -> None:
        ...

    @abstractmethod
    def close(self) -> None:
        ...

    def cursor(self) -> CrmStore:
        """A second connection to the same database, for another thread (a DuckDB store:
        the staging side writes on one while the plan is made)."""
        raise NotImplementedError(f"{type(self).__name__} offers no second connection")

    @property
    def staging(self) -> CrmStore:
        """Where the staging tables are (SPEC §5): this store, or a DuckDB file beside it."""
        return self

    def compact(self) -> str:
        """Rewrite the storage so that deleted and purged values are gone from its free
        space too (`purge --compact`); says what was done."""
        raise NotImplementedError(f"{type(self).__name__} cannot compact")

    @abstractmethod
    def insert_json_field(self, alias: str, name: str) -> str:
        """SQL for one field of an insert's change-log record (`<alias>.new_value`, JSON);
        NULL for other ops."""
        ...

    # --- shared -------------------------------------------------------------------------------
    def append(self, table: str, frame: pl.DataFrame) -> None:
        """Insert every row of a frame into a table (columns by name), in one statement."""
        name = "append_" + table.replace(".", "_")
        self.register(name, frame)
        self.execute(insert_select(table, frame.columns, name))

    def limit_memory(self, limit: str) -> None:
        """Cap the engine's own caches in this process (a DuckDB store; a server's are its
        own business)."""
        return None

    def run_with(self, frame: pl.DataFrame, sql: Callable[[str], str]) -> None:
        """Run one statement that reads one frame: `sql(name)` is the statement, reading the
        frame as table `name` (no parameters)."""
        self.register("frame_rows", frame)
        try:
            self.execute(sql("frame_rows"))
        finally:
            self.unregister_all()

    def schema_version(self) -> int | None:
        return self.scalar("SELECT max(version) FROM schema_version")

    def migration(self, sql: str) -> list[str]:
        """A migration's statements in this store's dialect. A line `-- @rename OLD NEW`
        renames table OLD where it is a table still: the one step SQL cannot make
        conditional, and a migration may run again (on a file whose schema version was
        taken back) where OLD is already the view the rest of it made."""
        steps = []
        for line in sql.splitlines():
            if line.startswith("-- @rename "):
                old, new = line.split()[2:4]
                if self.scalar("SELECT count(*) FROM information_schema.tables WHERE "
                               "table_name = ? AND table_schema = current_schema() AND "
                               "table_type = 'BASE TABLE'", [old]):
                    steps.append(f"ALTER TABLE {ident(old)} RENAME TO {ident(new)}")
        return [*steps, sql.replace("{json_object}", self.json_object)]

    def next_ids(self, table: str, n: int) -> pl.Series:
        """Reserve n new ids for `table`, above any id it holds (call inside the transaction)."""
        if n == 0:
            return pl.Series("id", [], dtype=pl.Int64)
        top = self.scalar(TOP_ID.get(table) or
                          f"SELECT coalesce(max({ident(ID_COLUMN[table])}), 0) FROM {ident(table)}")
        last = self.scalar("SELECT last_id FROM id_counter WHERE name = ?", [table])
        start = max(top, last or 0) + 1
        if last is None:
            self.execute("INSERT INTO id_counter VALUES (?, ?)", [table, start + n - 1])
        else:
            self.execute("UPDATE id_counter SET last_id = ? WHERE name = ?", [start + n - 1, table])
        return pl.int_range(start, start + n, dtype=pl.Int64, eager=True).alias("id")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: any exception rolls every statement back."""
        self.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        else:
            self.execute("COMMIT")

    def __enter__(self) -> CrmStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


BaseStore = CrmStore  # (the name before the interface was declared)
