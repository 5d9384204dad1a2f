"""SQL builders shared by the stores. Identifiers pass through `ident`; values never
appear here: they come from registered frames or bound parameters."""

from __future__ import annotations

import re
from typing import Any

from contracts.keys import MatchKey
from transforms.store.schema import VALUE_STORAGE

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def path_literal(path: str) -> str:
    """A file path as a SQL string, for the statements that take no parameters (ATTACH):
    a path the user gave, never a data value."""
    return "'" + path.replace("'", "''") + "'"


def ident(name: str) -> str:
    """Quote an identifier (table/column names come from the contracts' lists)."""
    if "." in name:
        return ".".join(ident(p) for p in name.split("."))
    if not _IDENT.match(name):
        raise ValueError(f"not an identifier: {name!r}")
    return f'"{name}"'


def cols(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(ident(n) for n in names)


# the staging tables as stored (a view, like staging.canonical, holds nothing of its own)
STORED_STAGING_TABLES = ("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                         "'staging' AND table_type = 'BASE TABLE' AND table_catalog = "
                         "current_database() ORDER BY table_name")


def fields_list(columns: list[str]) -> str:
    """The non-empty values of `columns` as a list of {field, value}, the column's name as
    the field (staging.raw_rows.fields); a name is an identifier, checked by `ident`."""
    entries = [f"{{'field': '{ident(c)[1:-1]}', 'value': {ident(c)}}}" for c in columns]
    if not entries:
        return "NULL"
    return f"list_filter([{', '.join(entries)}], lambda e: e.value IS NOT NULL)"


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


def crm_key_select(key: MatchKey, *, ids: tuple[int, int] | None = None,
                   filters: tuple[tuple[str, Any], ...] = ()) -> tuple[str, list[Any]]:
    """The CRM's values of one match key (`contracts.keys`): crm_id, `_scope` (the company
    id, for a key scoped to the company) and the key's CRM columns; `ids`: only records
    with an id in lo..hi; `filters`: column = value (bound)."""
    side = key.crm
    assert side is not None
    select = [f"{ident(side.id_column)} AS crm_id"]
    if key.scope == "company":
        select.append(f'{ident("company_id")} AS "_scope"')
    select += [ident(c) for c in side.columns]
    where = [(c, v) for c, v in (*side.where, *filters)]
    clauses = [f"{ident(c)} = ?" for c, _ in where]
    params: list[Any] = [v for _, v in where]
    if ids is not None:
        clauses.append(f"{ident(side.id_column)} BETWEEN ? AND ?")
        params += list(ids)
    sql = f"SELECT {', '.join(select)} FROM {ident(side.table)}"
    return (sql + (" WHERE " + " AND ".join(clauses) if clauses else "")), params


def rows_by_id(table: str, key: str, ids: str) -> str:
    """Every column of the records whose `key` is in the frame `ids` (column `id`)."""
    return f"SELECT t.* FROM {ident(table)} t JOIN {ident(ids)} w ON t.{ident(key)} = w.id"


def owner_values(table: str, owners: str) -> str:
    """owner_kind, crm_id, value_id, kind, value, e164 (phones; else NULL), rank of the
    values of one table that the owners in frame `owners` hold."""
    vt = VALUE_STORAGE[table]

    def col(name: str | None) -> str:
        return f"v.{ident(name)}" if name else "NULL"

    vid, value, e164 = col(vt.id_column), col(vt.value), col(vt.e164)
    kind, rank = col("kind" if vt.kind else None), col("rank" if vt.rank else None)
    return (f"SELECT v.owner_kind, v.owner_id AS crm_id, {vid} AS value_id, {kind} AS kind, "
            f"{value} AS value, {e164} AS e164, {rank} AS rank FROM {ident(table)} v "
            f"JOIN {ident(owners)} o ON v.owner_kind = o.owner_kind AND v.owner_id = o.crm_id")


def delete_owned(table: str, ids: str) -> str:
    """Delete the values (of a value table) whose owner is in frame `ids` (column `id`);
    the owner kind is the one parameter."""
    return (f"DELETE FROM {ident(table)} WHERE owner_kind = ? AND owner_id IN "
            f"(SELECT id FROM {ident(ids)})")


def delete_members(ids: str) -> str:
    """Delete selection memberships of the records in frame `ids`; the entity is the one
    parameter."""
    return f"DELETE FROM selection_member WHERE entity = ? AND entity_id IN (SELECT id FROM {ident(ids)})"


def members_of(ids: str) -> str:
    """The selection_member rows of the records (of one entity, bound) in frame `ids`."""
    return ("SELECT selection_id, entity, entity_id FROM selection_member "
            f"WHERE entity = ? AND entity_id IN (SELECT id FROM {ident(ids)})")


def empty_rows(table: str) -> str:
    """No rows, every column: a table's schema."""
    return f"SELECT * FROM {ident(table)} LIMIT 0"


def owned_rows(table: str, ids: str) -> str:
    """Every column of the values whose owner is in frame `ids`; the owner kind is the one
    parameter."""
    return (f"SELECT * FROM {ident(table)} WHERE owner_kind = ? AND owner_id IN "
            f"(SELECT id FROM {ident(ids)})")


def rows_in(table: str, key: str, ids: str) -> str:
    """Every column of the records whose `key` is in frame `ids` (column `id`)."""
    return f"SELECT * FROM {ident(table)} WHERE {ident(key)} IN (SELECT id FROM {ident(ids)})"
