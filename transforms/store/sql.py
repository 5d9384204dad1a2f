"""SQL builders shared by the stores. Identifiers pass through `ident`; values never
appear here: they come from registered frames or bound parameters."""

from __future__ import annotations

import re

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ident(name: str) -> str:
    """Quote an identifier (table/column names come from the contracts' lists)."""
    if "." in name:
        return ".".join(ident(p) for p in name.split("."))
    if not _IDENT.match(name):
        raise ValueError(f"not an identifier: {name!r}")
    return f'"{name}"'


def cols(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(ident(n) for n in names)


def insert_select(table: str, columns: list[str], source: str) -> str:
    """Insert every row of a staged frame: one statement, whatever the row count."""
    return f"INSERT INTO {ident(table)} ({cols(columns)}) SELECT {cols(columns)} FROM {ident(source)}"


def update_field(table: str, key: str, column: str, sql_type: str, source: str) -> str:
    """Set one column from a staged frame (entity_id, new_value) of that column's changes.

    The plan already decided each value (merge: fill empty; replace: overwrite when the
    import has a value; protect: never), so the statement only applies it.
    """
    return (
        f"UPDATE {ident(table)} SET {ident(column)} = CAST(s.new_value AS {sql_type}) "
        f"FROM {ident(source)} s WHERE {ident(table)}.{ident(key)} = s.entity_id"
    )


def delete_ids(table: str, key: str, source: str, source_key: str = "id") -> str:
    return (f"DELETE FROM {ident(table)} WHERE {ident(key)} IN "
            f"(SELECT {ident(source_key)} FROM {ident(source)})")
