"""The CRM as a plan sees it: one read before planning (`read_snapshot`).

Reads the CRM's values of the settings' match keys that the file's keys can find (a slice
of record ids at a time: a CRM's keys whole would cost more memory than a chunk), the
records those keys reach and the values they hold, the list items, and for an ERP import
the records linked to that ERP. Planning (`transforms.plan`) then reads nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from contracts.fields import VALUE_TABLES
from contracts.keys import MatchKey, match_key
from contracts.settings import ImportSettings
from transforms import keys as k
from transforms import normalise as nz
from transforms.erp import actor_id, erp_id
from transforms.plan.model import (
    ERP_SCHEMA,
    EXISTING_SCHEMA,
    KEYS_SCHEMA,
    CrmSnapshot,
)
from transforms.plan.rows import key_columns, row_keys
from transforms.plan.values import url_key
from transforms.store.base import CrmStore
from transforms.store.sql import crm_key_select, ident, owner_values, rows_by_id

SLICE_IDS = 1_000_000


def crm_keys(store: CrmStore, key: MatchKey, *, ids: tuple[int, int] | None = None,
             filters: tuple[tuple[str, Any], ...] = ()) -> pl.DataFrame:
    """crm_id, scope, key of every CRM record with a value for `key` (ids: lo..hi only)."""
    if key.crm is None:
        return pl.DataFrame(schema=KEYS_SCHEMA)
    sql, params = crm_key_select(key, ids=ids, filters=filters)
    crm = store.query(sql, params)
    return (crm.select(pl.col("crm_id").cast(pl.Int64), k.crm_scope(key).alias("scope"),
                       k.crm_key(key).alias("key"))
            .drop_nulls("key"))


def _found(store: CrmStore, key: MatchKey, wanted: pl.Series, slice_ids: int) -> pl.DataFrame:
    """The CRM keys (named like the file's: `keys.named`) whose hash is one of `wanted`'s
    (`_hashed`), a slice of ids at a time."""
    if key.crm is None or wanted.is_empty():
        return pl.DataFrame(schema=KEYS_SCHEMA)
    side = key.crm
    lo, hi = store.query(f"SELECT min({ident(side.id_column)}) AS lo, "
                         f"max({ident(side.id_column)}) AS hi FROM {ident(side.table)}").row(0)
    # (an inner join on the unique wanted hashes: the slice, the smaller side, is hashed)
    want = wanted.to_frame("h")
    parts = [crm_keys(store, key, ids=(start, start + slice_ids - 1))
             .with_columns(k.named(key, pl.col("key")).alias("key"))
             .join(want, left_on=_hashed(pl.col("key")), right_on="h", how="inner")
             .select(KEYS_SCHEMA.names())
             for start in range(lo or 0, (hi or -1) + 1, slice_ids)]
    return pl.concat(parts) if parts else pl.DataFrame(schema=KEYS_SCHEMA)


def _hashed(key: pl.Expr) -> pl.Expr:
    """A named key by its hash, to find the CRM's keys with: a 10M-row file's e-mails made
    unique as text were the top of its import's memory (2.31 GB; ~1.5 GB by hash). A CRM
    key that shares a hash by chance is one key too many, and matches nothing: the plan
    joins keys by value (a chunk's share of them too, `CrmKeys.within`)."""
    return key.hash()


@dataclass(frozen=True)
class CrmKeys:
    """The CRM's match keys the file can find: company and person (crm_id, scope, key; the
    keys named, `keys.named`, for every key of the chains)."""
    company: pl.DataFrame
    person: pl.DataFrame

    @classmethod
    def found(cls, store: CrmStore, settings: ImportSettings, keys: pl.LazyFrame,
              slice_ids: int = SLICE_IDS) -> CrmKeys:
        """The CRM keys that the file's keys (`c0…`, `p0…` of `plan.rows.row_keys`) can
        find: read once for a whole file, however many chunks it is planned in."""
        cols, pcols = key_columns(settings)

        def wanted(column: str) -> pl.Series:
            # (one level of the chain, its keys' hashes made unique streaming: a large
            # file's keys are read from its scratch files, never all held)
            return (keys.select(pl.col(column)).drop_nulls()
                    .select(_hashed(pl.col(column)).alias("h")).unique()
                    .collect(engine="streaming")["h"])

        def read(entity: str, chain: tuple[str, ...], columns: list[str]) -> pl.DataFrame:
            return pl.concat([_found(store, match_key(entity, name), wanted(column), slice_ids)
                              .cast(KEYS_SCHEMA)
                              for name, column in zip(chain, columns, strict=True)])

        return cls(read("company", settings.company.chain, cols),
                   read("person", settings.person.chain, pcols))

    def within(self, keys: pl.DataFrame, settings: ImportSettings) -> CrmKeys:
        """The share that some rows' keys can find: one chunk's."""
        cols, pcols = key_columns(settings)

        def share(crm: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
            mine = pl.concat([keys.select(pl.col(c).alias("key")) for c in columns])
            return crm.join(mine.drop_nulls().unique(), on="key", how="semi")

        return CrmKeys(share(self.company, cols), share(self.person, pcols))


def erp_links(store: CrmStore, table: str, system: str) -> pl.DataFrame:
    """crm_id, erp_key of the CRM records linked to one ERP system; the key with its kind
    (`erp.erp_id`: "customers" + "ALFKI"), as the plan compares it."""
    key = {"company": "company_id", "person": "person_id"}[table]
    found = store.query(f"SELECT {ident(key)} AS crm_id, erp_entity, erp_key FROM {ident(table)} "
                        "WHERE erp_system = ? AND erp_key IS NOT NULL", [system])
    return found.select("crm_id", erp_id(pl.col("erp_entity"), pl.col("erp_key"))
                        .alias("erp_key")).cast(ERP_SCHEMA)


def records(store: CrmStore, table: str, key: str, ids: pl.Series) -> pl.DataFrame:
    """Current CRM rows of the given ids (one join, not one query per id), id as crm_id."""
    store.register("wanted_ids", pl.DataFrame({"id": ids.unique().cast(pl.Int64)}))
    try:
        frame = store.query(rows_by_id(table, key, "wanted_ids"))
    finally:
        store.unregister_all()
    return frame.rename({key: "crm_id"})


def owner_values_of(store: CrmStore, owners: pl.DataFrame) -> pl.DataFrame:
    """Phones/emails/URLs/interests the owners (owner_kind, crm_id) hold (EXISTING_SCHEMA)."""
    if owners.height == 0:
        return pl.DataFrame(schema=EXISTING_SCHEMA)
    store.register("owners", owners.select("owner_kind", pl.col("crm_id").cast(pl.Int64)).unique())
    try:
        parts = {t: store.query(owner_values(t, "owners")) for t in VALUE_TABLES}
    finally:
        store.unregister_all()
    value_key: dict[str, pl.Expr] = {
        "phone": nz.phone_key(pl.col("e164"), pl.col("value")),
        "email": nz.email_key(pl.col("value")),
        "url": url_key(pl.col("value")), "interest": nz.text_key(pl.col("value"))}
    frames = [f.with_columns(pl.lit(t).alias("table"), value_key[t].alias("key"),
                             pl.col("kind").cast(pl.String), pl.col("rank").cast(pl.Int64),
                             pl.col("value").cast(pl.String), pl.col("e164").cast(pl.String))
              .select(EXISTING_SCHEMA.names()) for t, f in parts.items()]
    return pl.concat([pl.DataFrame(schema=EXISTING_SCHEMA), *frames], how="vertical_relaxed")


def read_snapshot(store: CrmStore, rows: pl.DataFrame, settings: ImportSettings, *,
                  erp_system: str | None = None, keys: CrmKeys | None = None) -> CrmSnapshot:
    """The CRM records, keys and values the validated `rows` can reach.

    `keys`: the CRM's keys already read for the whole file (a large file's chunks are
    planned against the CRM as it was before the first one); read here otherwise. Only the
    records these rows' keys reach are read, with their values."""
    wanted = row_keys(rows, settings)  # (the plan's own keys: transforms.plan.rows)
    keys = (CrmKeys.found(store, settings, wanted.lazy()) if keys is None
            else keys.within(wanted, settings))
    erp_company = erp_person = pl.DataFrame(schema=ERP_SCHEMA)
    if erp_system is not None:
        erp_company = erp_links(store, "company", erp_system)
        erp_person = erp_links(store, "person", erp_system)

    def reach(found: pl.DataFrame, linked: pl.DataFrame, entity: str) -> pl.Series:
        ids = [found["crm_id"]]
        if f"{entity}_erp_key" in rows.columns:
            mine = rows.select(actor_id(rows, entity))
            ids.append(linked.filter(pl.col("erp_key").is_in(mine.to_series().implode()))["crm_id"])
        return pl.concat(ids).unique()

    companies = records(store, "company", "company_id", reach(keys.company, erp_company, "company"))
    persons = records(store, "person", "person_id", reach(keys.person, erp_person, "person"))
    owners = pl.concat([
        companies.select(pl.lit("company").alias("owner_kind"), "crm_id"),
        persons.select(pl.lit("person").alias("owner_kind"), "crm_id")])
    return CrmSnapshot(
        company_keys=keys.company.cast(KEYS_SCHEMA), person_keys=keys.person.cast(KEYS_SCHEMA),
        companies=companies, persons=persons, values=owner_values_of(store, owners),
        list_items=store.query("SELECT list_name, value, is_default FROM list_item"),
        erp_company=erp_company, erp_person=erp_person)
