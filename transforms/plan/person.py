"""Persons of the file: rows grouped by the person key (a name within its company),
matched, decided; a person waits on its company's outcome (SPEC §3)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from contracts.keys import MatchKey
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
from transforms.plan.model import CHANGE_SCHEMA, PERSON_COLUMNS, CrmSnapshot


def _person_rows(frame: pl.DataFrame, companies: pl.DataFrame, snapshot: CrmSnapshot, *,
                 settings: ImportSettings, erp_system: str | None
                 ) -> tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]], list[int]]:
    """The rows holding a person, with what blocks them (their company's outcome), their
    keys (one per key of the chain: `_p0`, `_p1`, …) with the scope each is compared in,
    in the CRM (`_ps0`, …), the value that tells a level's records apart (`_a0`, … for
    the levels `_told`), and their `group`; the CRM keys they are matched against (an ERP
    import: its actors' keys first); the (key, CRM scope) columns per level; and the
    levels told apart."""
    chain = k.chain("person", settings.person.chain)
    company_state = companies.select(pl.col("group").alias("_cgroup"),
                                     pl.col("outcome").alias("_c_outcome"),
                                     pl.col("crm_id").alias("_c_crm_id"))
    rows = (frame.filter(pl.col("_has_person"))
            .join(company_state, on="_cgroup", how="left"))
    blocked = (pl.when(pl.col("_cgroup").is_null() & pl.lit(settings.person.if_no_company == "skip"))
               .then(pl.lit("no company, and person.if_no_company is skip"))
               .when(pl.col("_c_outcome") == "ambiguous").then(pl.lit("its company is ambiguous"))
               .when(pl.col("_c_outcome") == "rejected").then(pl.lit("its company is rejected")))
    # a key scoped to the company: in the file by company group, in the CRM by company id
    company_crm = (pl.when(pl.col("_cgroup").is_null()).then(pl.lit("none"))
                   .when(pl.col("_c_outcome").is_in(["matched", "skipped"]))
                   .then(pl.col("_c_crm_id").cast(pl.String))
                   .otherwise(pl.lit("new company")))
    names = set(rows.columns)
    levels = [(f"_p{i}", f"_ps{i}") for i in range(len(chain))]
    told = _told(chain, names)
    rows = rows.with_columns(
        blocked.alias("_blocked"),
        *[k.named(key, k.file_key(key, names)).alias(p) for key, (p, _) in zip(chain, levels,
                                                                                 strict=True)],
        *[(company_crm if key.scope == "company" else pl.lit("any")).alias(ps)
          for key, (_, ps) in zip(chain, levels, strict=True)],
        *[k.file_apart(chain[i]).alias(f"_a{i}") for i in told])
    crm_keys = snapshot.person_keys
    erp = erp_system is not None and "person_erp_key" in rows.columns
    if erp:
        rows = rows.with_columns(actor_id(rows, "person").alias("_erp_id"))
        rows, crm_keys = m.erp_cascade(rows, crm_keys, snapshot.erp_person,
                                       erp_key="_erp_id", key="_p0", scope="_ps0",
                                       rest=tuple(p for p, _ in levels[1:]))
    scoped = [(k.file_scope(key, pl.col("_cgroup")) + pl.lit("|") + pl.col(p)).alias(f"_t{i}")
              for i, (key, (p, _)) in enumerate(zip(chain, levels, strict=True))]
    rows = rows.with_columns(scoped)
    # a key with a value that tells its records apart groups by both first: rows of one
    # name born on different days are two persons, and a row without a birth date joins
    # the one person of its name that has one (`chain_groups`: not when there are several)
    rows = rows.with_columns(pl.when(pl.col(f"_a{i}").is_not_null())
                             .then(pl.col(f"_t{i}") + pl.lit("|") + pl.col(f"_a{i}"))
                             .alias(f"_t{i}a") for i in told)
    chained = m.chain_groups(rows, [t for i in range(len(chain))
                                    for t in ([f"_t{i}a"] if i in told else []) + [f"_t{i}"]])
    rows = rows.with_columns(chained.alias("_chained"),
                             k.first_present([pl.col(p) for p, _ in levels]).alias("_pkey"))
    by_erp = (pl.lit("p:erp:") + pl.col("_erp_id")) if erp else pl.lit(None, pl.String)
    rows = rows.with_columns(
        pl.when(pl.col("_blocked").is_not_null())
        .then(pl.lit("p#") + pl.col("source_row").cast(pl.String))
        .when(by_erp.is_not_null()).then(by_erp)
        .when(pl.col("_chained").is_not_null()).then(pl.lit("p:") + pl.col("_chained"))
        .otherwise(pl.lit("p#") + pl.col("source_row").cast(pl.String)).alias("group")
    ).drop("_chained", *[f"_t{i}" for i in range(len(chain))], *[f"_t{i}a" for i in told])
    return rows, crm_keys, levels, told


def _told(chain: list[MatchKey], names: set[str]) -> list[int]:
    """The levels of the chain whose key has a value that tells its records apart
    (`MatchKey.apart`), where the file has that value."""
    return [i for i, key in enumerate(chain) if k.told_apart(key, names)]


def _crm_apart(snapshot: CrmSnapshot, chain: list[MatchKey], told: list[int]
               ) -> pl.DataFrame | None:
    """crm_id, apart of the CRM persons the keys reach (None: no level is told apart). (One
    key of a chain has such a value: a person's name.)"""
    if not told:
        return None
    persons = snapshot.persons
    return persons.select(pl.col("crm_id").cast(pl.Int64),
                          k.crm_apart(chain[told[0]], set(persons.columns)).alias("apart"))


@dataclass(frozen=True)
class Persons:
    rows: pl.DataFrame  # the rows that hold a person, with `group`
    decisions: pl.DataFrame
    changes: pl.DataFrame
    pairs: pl.DataFrame
    warnings: list[pl.LazyFrame]


def plan_persons(frame: pl.DataFrame, companies: pl.DataFrame, snapshot: CrmSnapshot, *,
                 settings: ImportSettings, headers: dict[str, str], erp_system: str | None,
                 value_columns: list[str]) -> Persons:
    """`frame`: rows with `_cgroup`; `companies`: the company decisions."""
    pchain = settings.person.chain
    rows, crm_keys, levels, told = _person_rows(frame, companies, snapshot, settings=settings,
                                                erp_system=erp_system)
    erp = erp_system is not None and "person_erp_key" in rows.columns
    # (the entity's value that tells it apart: its first, as of any field — one for all its
    # rows, so a row without a birth date never finds what its person's date rules out)
    born = [f"_a{told[0]}"] if told else []
    entities, conflicts = group_entities(
        rows, [c for c in value_columns if c in PERSON_COLUMNS]
        + ["_blocked", "_cgroup", "_ps0", *born], "_pkey")
    warnings = [
        no_key_warnings(rows.filter(pl.col("_blocked").is_null()
                                    & (pl.col("person_erp_key").is_null() if erp else pl.lit(True))),
                        "_pkey", f"person.match = {settings.person.shown}", headers,
                        (k.required_columns("person", pchain[0]) or ("person",))[0]),
        conflict_warnings(conflicts.filter(~pl.col("field").str.starts_with("_")), headers)]
    # (one key: an entity's rows share it, and the entities are fewer than the rows)
    keys = (entities.filter(pl.col("_blocked").is_null())
            .select("group", pl.col("_ps0").alias("scope"), "key", pl.lit(0).alias("level"))
            if len(levels) == 1 else
            pl.concat([rows.filter(pl.col("_blocked").is_null())
                       .select("group", pl.col(ps).alias("scope"), pl.col(p).alias("key"),
                               pl.lit(i).alias("level"))
                       for i, (p, ps) in enumerate(levels)]))
    if told:  # (a level told apart compares the entity's value; the others, none)
        keys = (keys.join(entities.select("group", pl.col(born[0]).alias("apart")), on="group",
                          how="left")
                .with_columns(pl.col("level").is_in(told).alias("told"),
                              pl.when(pl.col("level").is_in(told)).then(pl.col("apart"))
                              .alias("apart")))
    pairs = m.first_found(keys, crm_keys, pchain, erp=erp,
                          apart=_crm_apart(snapshot, k.chain("person", pchain), told))
    dec = decide(entities, pairs, settings.person.action)
    if erp:
        dec = one_actor_per_record(dec)
    dec = dec.with_columns(
        pl.when(pl.col("_blocked").is_not_null()).then(pl.lit("skipped"))
        .otherwise(pl.col("outcome")).alias("outcome"),
        pl.when(pl.col("_blocked").is_not_null()).then(None)
        .otherwise(pl.col("crm_id")).alias("crm_id"),
        pl.coalesce(pl.col("_blocked"), pl.col("reason")).alias("reason"))
    matched = dec.filter(pl.col("outcome") == "matched")
    changes = pl.concat([
        field_changes(matched, snapshot.persons, PERSON_COLUMNS, action=settings.person.action,
                      protect=settings.person.protect),
        company_links(matched, snapshot.persons, companies, settings)], how="vertical_relaxed")
    return Persons(rows, dec, changes, pairs, warnings)


def company_links(pmatched: pl.DataFrame, pcrm: pl.DataFrame, cdec: pl.DataFrame,
                   settings: ImportSettings) -> pl.DataFrame:
    """company_id changes of matched persons (SPEC §3: merge fills an empty link, replace moves)."""
    if settings.person.action not in ("merge", "replace") or "company_id" in settings.person.protect \
            or pmatched.height == 0:
        return pl.DataFrame(schema=CHANGE_SCHEMA)
    target = cdec.select(pl.col("group").alias("_cgroup"), pl.col("crm_id").alias("_target_id"))
    links = (pmatched.select("group", "crm_id", "_cgroup")
             .join(pcrm.select("crm_id", pl.col("company_id").alias("_old")), on="crm_id", how="left")
             .join(target, on="_cgroup", how="left")
             .filter(pl.col("_cgroup").is_not_null()))
    differs = pl.col("_target_id").is_null() | pl.col("_target_id").ne_missing(pl.col("_old"))
    wanted = pl.col("_old").is_null() if settings.person.action == "merge" else differs
    return links.filter(wanted).select(
        "group", "crm_id", pl.lit("company_id").alias("field"),
        pl.col("_old").cast(pl.String).alias("old_value"),
        pl.col("_target_id").cast(pl.String).alias("new_value"),
        pl.when(pl.col("_target_id").is_null()).then(pl.col("_cgroup")).alias("target_group"))
