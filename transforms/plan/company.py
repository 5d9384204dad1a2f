"""Companies of the file: rows grouped by the company key, matched, decided (SPEC §3)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from contracts.settings import ImportSettings
from transforms import keys as k
from transforms import match as m
from transforms.erp import actor_id
from transforms.plan.entities import (
    conflict_warnings,
    decide,
    field_changes,
    group_entities,
    no_key_warnings,
    one_actor_per_record,
)
from transforms.plan.model import COMPANY_COLUMNS, CrmSnapshot
from transforms.plan.rows import present
from transforms.validate import issues


@dataclass(frozen=True)
class Companies:
    frame: pl.DataFrame  # every row, with `_ckey` and `_cgroup` (null: no company)
    rows: pl.DataFrame  # the rows that hold a company, with `group`
    decisions: pl.DataFrame
    changes: pl.DataFrame
    pairs: pl.DataFrame  # group, crm_id: the CRM companies each entity's key finds
    warnings: list[pl.LazyFrame]
    rejects: list[pl.LazyFrame]


def plan_companies(frame: pl.DataFrame, snapshot: CrmSnapshot, *, settings: ImportSettings,
                   headers: dict[str, str], erp_system: str | None) -> Companies:
    cchain = settings.company.chain
    fnames = set(frame.columns)
    levels = [f"_c{i}" for i in range(len(cchain))]
    frame = frame.with_columns(
        pl.when(pl.col("_has_company")).then(e).alias(c)
        for c, e in zip(levels, k.chain_keys("company", cchain, fnames), strict=True))
    crm_keys = snapshot.company_keys
    erp = erp_system is not None and "company_erp_key" in fnames
    if erp:
        frame = frame.with_columns(actor_id(frame, "company").alias("_erp_id"))
        frame, crm_keys = m.erp_cascade(frame, crm_keys, snapshot.erp_company,
                                        erp_key="_erp_id", key=levels[0],
                                        rest=tuple(levels[1:]))
    frame = frame.with_columns(k.first_present([pl.col(c) for c in levels]).alias("_ckey"),
                               m.chain_groups(frame, levels).alias("_chained"))
    # an ERP actor is its own company (by its ERP key), whatever its name
    by_erp = (pl.lit("c:erp:") + pl.col("_erp_id")) if erp else pl.lit(None, pl.String)
    frame = frame.with_columns(
        pl.when(~pl.col("_has_company")).then(None)
        .otherwise(pl.coalesce(
            by_erp,
            pl.when(pl.col("_chained").is_not_null()).then(pl.lit("c:") + pl.col("_chained"))
            .otherwise(pl.lit("c#") + pl.col("source_row").cast(pl.String))))
        .alias("_cgroup")).drop("_chained")
    rows = frame.filter(pl.col("_has_company")).with_columns(pl.col("_cgroup").alias("group"))
    scalar = [c for c in present(frame, "company") if c in COMPANY_COLUMNS]
    entities, conflicts = group_entities(rows, [*scalar, "_company_from_person"], "_ckey")
    warnings = [
        no_key_warnings(rows.filter(pl.col("company_erp_key").is_null()) if erp else rows,
                        "_ckey", f"company.match = {settings.company.shown}", headers,
                        k.required_columns("company", cchain[0])[0]),
        conflict_warnings(conflicts, headers)]
    # (one key: an entity's rows share it, and the entities are fewer than the rows)
    keys = (entities.select("group", pl.lit("any").alias("scope"), "key", pl.lit(0).alias("level"))
            if len(levels) == 1 else
            pl.concat([rows.select("group", pl.lit("any").alias("scope"), pl.col(c).alias("key"),
                                   pl.lit(i).alias("level")) for i, c in enumerate(levels)]))
    pairs = m.first_found(keys, crm_keys, cchain, erp=erp)
    dec = decide(entities, pairs, settings.company.action)
    if erp:
        dec = one_actor_per_record(dec)
    # a new company needs a name
    nameless = (pl.col("outcome") == "new") & (
        pl.col("company_name").is_null() if "company_name" in dec.columns else pl.lit(True))
    dec = dec.with_columns(
        pl.when(nameless).then(pl.lit("rejected")).otherwise(pl.col("outcome")).alias("outcome"),
        pl.when(nameless).then(pl.lit("a new company needs a name"))
        .otherwise(pl.col("reason")).alias("reason"))
    rejected = dec.filter(pl.col("outcome") == "rejected").select("group")
    rejects = [issues(
        rows.join(rejected, on="group", how="semi"),
        header=headers.get("company_name", "company_name"), field="company_name",
        reason=f"a new company needs a name (no CRM company matches its "
               f"{' or '.join(cchain)})",
        value=pl.col("company_name") if "company_name" in rows.columns else pl.lit(None))]
    matched = dec.filter(pl.col("outcome") == "matched")
    changes = field_changes(matched, snapshot.companies, COMPANY_COLUMNS,
                            action=settings.company.action, protect=settings.company.protect)
    return Companies(frame, rows, dec, changes, pairs, warnings, rejects)
