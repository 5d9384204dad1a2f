"""Companies of the file: rows grouped by the company key, matched, decided (SPEC §3)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from contracts.settings import ImportSettings
from transforms import keys as k
from transforms import match as m
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
    cmatch = settings.company.match
    fnames = set(frame.columns)
    frame = frame.with_columns(
        pl.when(pl.col("_has_company")).then(k.company_key(cmatch, fnames)).alias("_ckey"))
    crm_keys = snapshot.company_keys
    erp = erp_system is not None and "company_erp_key" in fnames
    if erp:
        frame, crm_keys = m.erp_cascade(frame, crm_keys, snapshot.erp_company,
                                        erp_key="company_erp_key", key="_ckey")
    # an ERP actor is its own company (by its ERP key), whatever its name
    by_erp = (pl.lit("c:erp:") + pl.col("company_erp_key")) if erp else pl.lit(None, pl.String)
    frame = frame.with_columns(
        pl.when(~pl.col("_has_company")).then(None)
        .otherwise(pl.coalesce(
            by_erp,
            pl.when(pl.col("_ckey").is_not_null()).then(pl.lit("c:") + pl.col("_ckey"))
            .otherwise(pl.lit("c#") + pl.col("source_row").cast(pl.String))))
        .alias("_cgroup"))
    rows = frame.filter(pl.col("_has_company")).with_columns(pl.col("_cgroup").alias("group"))
    scalar = [c for c in present(frame, "company") if c in COMPANY_COLUMNS]
    entities, conflicts = group_entities(rows, [*scalar, "_company_from_person"], "_ckey")
    warnings = [
        no_key_warnings(rows.filter(pl.col("company_erp_key").is_null()) if erp else rows,
                        "_ckey", f"company.match = {cmatch}", headers,
                        k.required_columns("company", cmatch)[0]),
        conflict_warnings(conflicts, headers)]
    pairs = m.find_candidates(entities.select("group", pl.lit("any").alias("scope"), "key"),
                              crm_keys)
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
        reason=f"a new company needs a name (no CRM company matches its {cmatch})",
        value=pl.col("company_name") if "company_name" in rows.columns else pl.lit(None))]
    matched = dec.filter(pl.col("outcome") == "matched")
    changes = field_changes(matched, snapshot.companies, COMPANY_COLUMNS,
                            action=settings.company.action, protect=settings.company.protect)
    return Companies(frame, rows, dec, changes, pairs, warnings, rejects)
