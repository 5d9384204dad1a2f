"""ERP actors: the sample ERP, and reading actors through a profile (SPEC §5 "ERP actors").

A connection is a SQLite file, a `postgresql://` URL, or an export file (CSV, Excel, JSON).
Only the columns the profile names are read, each cast to text by the database; search
criteria (`--where column=value`) are checked against the columns the profile allows and
bound as parameters — never pasted into SQL.

Every actor gets the key `<actor type>:<ERP key>` (its contact person
`<actor type>:<ERP key>:contact`), stored on the CRM record as `erp_key` with the
profile's `system` as `erp_system`: re-importing from any copy of the same ERP finds the
same records by it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from contracts.erp import ActorProfile, ErpProfile, load_profile
from contracts.errors import CrmImportError, ErpQueryInvalid, ErpUnavailable, NoRows
from transforms.mapping import split_full_name
from transforms.sources.table import RawTable
from transforms.store.base import CrmStore
from transforms.store.sql import ident
from transforms.store.urls import safe_connection

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class ErpRequest:
    connection: str
    actor_type: str
    profile: str | None = None  # a shipped name or a TOML path; None: generic
    where: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ErpActors:
    raw: RawTable  # the actors as read (ERP columns as text), source_row = actor number
    canonical: pl.DataFrame  # canonical fields, erp keys included
    labels: dict[str, str]  # canonical column → ERP column (for messages)
    profile: ErpProfile
    actor: ActorProfile
    missing: list[str]  # columns the profile names and the source lacks


Where = tuple[tuple[str, str], ...]  # (field, value) criteria, combined with AND


def parse_where(items: list[str] | tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """["city=London", …] → (("city", "London"), …)."""
    out = []
    for item in items:
        field, eq, value = item.partition("=")
        if not eq or not field.strip():
            raise ErpQueryInvalid(f"--where {item!r}: expected FIELD=VALUE")
        out.append((field.strip(), value))
    return tuple(out)


# --- the sample ERP ---------------------------------------------------------------------------


def build_sample(sql_path: Path, out: Path) -> dict[str, int]:
    """SQLite copy of a PostgreSQL dump: its CREATE TABLE and INSERT INTO statements as they
    are (the SET / ALTER / DROP statements are PostgreSQL's own and left out). Returns the
    row count of every table."""
    statements: list[str] = []
    current: list[str] = []
    for line in sql_path.read_text(encoding="utf-8").splitlines():
        if not current and not line.startswith(("CREATE TABLE", "INSERT INTO")):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current))
            current = []
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        con.executescript("BEGIN;\n" + "\n".join(statements) + "\nCOMMIT;")
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        counts = {t: con.execute(f"SELECT count(*) FROM {ident(t)}").fetchone()[0] for t in tables}
    finally:
        con.close()
    tmp.replace(out)  # a half-built file never takes the place of a good one
    return counts


# --- reading actors ---------------------------------------------------------------------------


def _kind(connection: str) -> str:
    if re.match(r"^postgres(ql)?://", connection):
        return "postgresql"
    path = Path(connection)
    if not path.is_file():
        raise ErpUnavailable(connection, "no such file, and not a postgresql:// URL")
    with open(path, "rb") as fh:
        if fh.read(16) == SQLITE_MAGIC:
            return "sqlite"
    if path.suffix.lower() in (".sqlite", ".sqlite3", ".db"):
        raise ErpUnavailable(connection, "not a SQLite database")
    return "export"


def _select(actor: ActorProfile, available: list[str], where: tuple[tuple[str, str], ...],
            placeholder: str) -> tuple[str, list[str], list[str]]:
    """(SQL, parameters, columns read): every column cast to text, the key first."""
    wanted = [c for c in actor.erp_columns() if c in available]
    source = ident(actor.table) if actor.table else f"({actor.query}) AS actors"
    cols = ", ".join(f"CAST({ident(c)} AS TEXT) AS {ident(c)}" for c in wanted)
    conds = [f"CAST({ident(f)} AS TEXT) = {placeholder}" for f, _ in where]
    sql = f"SELECT {cols} FROM {source}" + (" WHERE " + " AND ".join(conds) if conds else "") \
        + f" ORDER BY {ident(actor.key)}"
    return sql, [v for _, v in where], wanted


def _query_actors(con: Any, shown: str, actor: ActorProfile, where: Where, placeholder: str,
                  errors: type[Exception] | tuple) -> tuple[pl.DataFrame, list[str], None]:
    """The actors from a DB-API connection (sqlite3, psycopg): probe the columns, check the
    criteria, read the mapped columns as text. Closes the connection."""
    source = ident(actor.table) if actor.table else f"({actor.query}) AS a"
    try:
        cur = con.cursor()
        cur.execute(f"SELECT * FROM {source} LIMIT 0")
        available = [d[0] for d in cur.description]
        _check_where(actor, available, where)
        sql, params, cols = _select(actor, available, where, placeholder)
        cur.execute(sql, params)
        rows = cur.fetchall()
    except errors as exc:
        raise ErpUnavailable(shown, f"the query failed: {str(exc).strip().splitlines()[0]}",
                             hint="check the profile's table/query against the database") from None
    finally:
        con.close()
    # actors of a query are numbered in their (key) order: source_row = actor number
    frame = pl.DataFrame(rows, schema=dict.fromkeys(cols, pl.String), orient="row")
    return (frame.with_row_index("source_row", offset=1)
            .with_columns(pl.col("source_row").cast(pl.Int64)), available, None)


def _read_sqlite(path: str, actor: ActorProfile, where: Where) -> tuple[pl.DataFrame, list[str], None]:
    try:
        # a URI: its path quoted, so that "#", "?" or "%" in a name stay part of it
        con = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ErpUnavailable(path, str(exc)) from None
    return _query_actors(con, path, actor, where, "?", sqlite3.Error)


def _read_postgresql(url: str, actor: ActorProfile, where: Where) -> tuple[pl.DataFrame, list[str], None]:
    import psycopg

    shown = safe_connection(url)
    try:
        con = psycopg.connect(url, connect_timeout=10)
    except psycopg.Error as exc:
        raise ErpUnavailable(shown, str(exc).strip().splitlines()[0]) from None
    return _query_actors(con, shown, actor, where, "%s", psycopg.Error)


NULL_MARKERS = ("NULL", "\\N")  # what database exports write for an empty value


def _read_export(path: str, actor: ActorProfile, where: Where) -> tuple[pl.DataFrame, list[str], pl.DataFrame | None]:
    """An export file is the actor table itself (the profile's table name is not used).
    Its rows keep the file's row numbers; rows the CSV reader could not split are returned
    apart (see `read_actors`)."""
    p = Path(path)
    issues = None
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(p.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ErpUnavailable(path, f"not readable JSON: {exc}") from None
        records = data.get("data", data.get("rows")) if isinstance(data, dict) else data
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ErpUnavailable(path, "expected a JSON list of objects (or {\"data\": [...]})")
        frame = pl.DataFrame([{k: None if v is None else str(v) for k, v in r.items()}
                              for r in records], infer_schema_length=None)
        frame = frame.with_row_index("source_row", offset=1).with_columns(
            pl.col("source_row").cast(pl.Int64))
    else:
        from transforms.sources import read_source

        source = "csv" if p.suffix.lower() in (".csv", ".txt", ".tsv") else "excel"
        table = read_source(p, source=source)
        frame, issues = table.frame, table.row_issues
    frame = frame.with_columns(pl.exclude("source_row").cast(pl.String).replace(NULL_MARKERS, None))
    available = [c for c in frame.columns if c != "source_row"]
    _check_where(actor, available, where)
    for field, value in where:
        frame = frame.filter(pl.col(field) == value)
    cols = [c for c in actor.erp_columns() if c in available]
    frame = frame.select("source_row", *cols)
    if issues is not None:
        issues = issues.filter(pl.col("source_row").is_in(frame["source_row"].implode()))
    return frame, available, issues


def _check_where(actor: ActorProfile, available: list[str], where: Where) -> None:
    if actor.key not in available:
        raise ErpQueryInvalid(f"the ERP has no key column {actor.key!r} for this actor type",
                              available)
    allowed = [c for c in dict.fromkeys([*actor.erp_columns(), *actor.filters]) if c in available]
    for field, _ in where:
        if field not in allowed:
            raise ErpQueryInvalid(f"--where {field}=…: not a field of these actors", allowed)


def read_actors(req: ErpRequest) -> ErpActors:
    profile, _ = load_profile(req.profile)
    if req.actor_type not in profile.actors:
        raise ErpQueryInvalid(f"unknown actor type {req.actor_type!r} for the "
                              f"{profile.system!r} profile", list(profile.actors))
    actor = profile.actors[req.actor_type]
    readers = {"sqlite": _read_sqlite, "postgresql": _read_postgresql, "export": _read_export}
    try:
        frame, available, issues = readers[_kind(req.connection)](req.connection, actor, req.where)
    except CrmImportError:
        raise
    except Exception as exc:  # a driver's own error type: one clear line, never a traceback
        raise ErpUnavailable(safe_connection(req.connection), f"{type(exc).__name__}: {exc}") \
            from None
    if frame.height == 0:
        raise NoRows(safe_connection(req.connection),
                     f"no {req.actor_type} match" + (" the --where criteria" if req.where else ""))
    frame = frame.with_columns(pl.exclude("source_row").str.strip_chars().replace("", None))
    missing = [c for c in actor.erp_columns() if c not in available]
    canonical, labels = to_canonical(frame, req.actor_type, actor)
    raw = RawTable(frame, [c for c in frame.columns if c != "source_row"], "erp",
                   path=safe_connection(req.connection), format=profile.system,
                   row_issues=issues)
    return ErpActors(raw, canonical, labels, profile, actor, missing)


def to_canonical(frame: pl.DataFrame, actor_type: str, actor: ActorProfile
                 ) -> tuple[pl.DataFrame, dict[str, str]]:
    """The actors as canonical rows: mapped columns, their ERP keys, names split."""
    have = set(frame.columns)
    mapped = {f: c for f, c in actor.columns.items() if c in have}
    key = pl.col(actor.key).cast(pl.String)  # the ERP's own key, as it writes it
    person_cols = [c for f, c in mapped.items() if f.startswith("person_")]
    has_person = (pl.any_horizontal([pl.col(c).is_not_null() for c in person_cols])
                  if person_cols else pl.lit(False))
    exprs = [pl.col(c).alias(f) for f, c in mapped.items()]
    if actor.kind == "company":
        exprs += [key.alias("company_erp_key"), pl.lit(actor_type).alias("company_erp_entity"),
                  pl.when(has_person).then(key).alias("person_erp_key"),
                  pl.when(has_person).then(pl.lit(contact_entity(actor_type)))
                  .alias("person_erp_entity")]
    else:
        exprs += [key.alias("person_erp_key"), pl.lit(actor_type).alias("person_erp_entity")]
        if actor.company and actor.company in have:
            exprs.append(pl.col(actor.company).alias("company_name"))
        elif actor.company_fixed:
            exprs.append(pl.lit(actor.company_fixed).alias("company_name"))
    canonical = frame.select("source_row", *exprs)
    labels = {f: c for f, c in mapped.items()} | {
        "company_erp_key": actor.key, "person_erp_key": actor.key,
        "company_erp_entity": "(actor type)", "person_erp_entity": "(actor type)"}
    if "person_full_name" in canonical.columns:
        canonical = split_full_name(canonical.lazy()).collect()
        for part in ("person_first_name", "person_middle_name", "person_last_name"):
            labels.setdefault(part, labels["person_full_name"])
    return canonical, labels


def contact_entity(actor_type: str) -> str:
    """The `erp_entity` of a company actor's contact person: "customers.contact"."""
    return f"{actor_type}.contact"


def erp_id(entity: pl.Expr, key: pl.Expr) -> pl.Expr:
    """What finds an ERP record: its kind and its key, together (null without a key)."""
    return entity.fill_null("") + pl.lit("\x1f") + key


def actor_id(frame: pl.DataFrame, entity: str) -> pl.Expr:
    """`erp_id` of the file's actors (`company` / `person`), as `snapshot.erp_links` reads
    the CRM's."""
    kind = f"{entity}_erp_entity"
    return erp_id(pl.col(kind) if kind in frame.columns else pl.lit(None, pl.String),
                  pl.col(f"{entity}_erp_key"))


def gone_actors(store: CrmStore, system: str, actor_type: str, actor: ActorProfile,
                keys: pl.Series) -> list[str]:
    """ERP keys of this actor type the CRM holds from earlier imports and the ERP no longer
    has (only meaningful for an unfiltered read)."""
    table = "company" if actor.kind == "company" else "person"
    store.register("erp_seen", pl.DataFrame({"erp_key": keys}))
    try:
        gone = store.query(
            f"SELECT t.erp_key FROM {ident(table)} t WHERE t.erp_system = ? AND "
            "t.erp_entity = ? AND t.erp_key NOT IN (SELECT erp_key FROM erp_seen) "
            "ORDER BY t.erp_key", [system, actor_type])
    finally:
        store.unregister_all()
    return gone["erp_key"].to_list()
