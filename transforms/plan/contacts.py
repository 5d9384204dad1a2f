"""The import plan of contacts: one decision per company and person, under the import
policy (SPEC §3), against a snapshot of the CRM.

Rows of one file that share a key become one entity (first non-empty value per field wins);
each entity is matched against the CRM's keys and gets an outcome: new, updated,
unchanged, skipped, ambiguous or rejected, with its field changes and the
phones/emails/URLs/interests to add or remove. Planning is pure: it reads the snapshot
(`transforms.snapshot.read_snapshot`), never the store; applying a plan is
`transforms.apply`.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from contracts.fields import PRIVACY_FIELDS
from contracts.settings import ImportSettings
from transforms import keys as k
from transforms import normalise as nz
from transforms.plan.company import Companies, plan_companies
from transforms.plan.entities import settle
from transforms.plan.lists import resolve_lists
from transforms.plan.model import LIST_FIELDS, CrmSnapshot, EntityPlan, Plan
from transforms.plan.person import Persons, plan_persons
from transforms.plan.rows import company_from_person, present, require_match_columns, roles
from transforms.plan.values import plan_values
from transforms.validate import ISSUE_SCHEMA, WARNING_SCHEMA, issues

LIST_ITEMS = pl.Schema({"list_name": pl.String, "value": pl.String})


def plan_contacts(rows: pl.DataFrame, snapshot: CrmSnapshot, *, settings: ImportSettings,
                  headers: dict[str, str], has_company: bool, has_person: bool,
                  erp_system: str | None = None) -> Plan:
    """Decide every company and person of the valid rows against the CRM `snapshot`.

    With `erp_system` (an ERP import), a record is first found by its ERP key
    (`company_erp_key` / `person_erp_key` among the CRM records of that system), and only
    an actor the CRM does not know yet by the settings' match key, among the records not
    linked to that system; each actor is its own entity (grouped by its ERP key).
    `has_company` / `has_person`: the file has columns for them (a key column it lacks is
    an error only then).
    """
    require_match_columns(set(rows.columns), settings, has_company=has_company,
                          has_person=has_person, headers=headers)
    frame, value_columns, items = _rows(rows, snapshot, settings, erp_system)
    companies = plan_companies(frame, snapshot, settings=settings, headers=headers,
                               erp_system=erp_system)
    persons = plan_persons(companies.frame, companies.decisions, snapshot, settings=settings,
                           headers=headers, erp_system=erp_system, value_columns=value_columns)
    owners = pl.concat([
        companies.rows.select("source_row", pl.lit("company").alias("owner_kind"), "group"),
        persons.rows.select("source_row", pl.lit("person").alias("owner_kind"), "group")])
    state = pl.concat([
        companies.decisions.select(pl.lit("company").alias("owner_kind"), "group", "outcome",
                                   "crm_id"),
        persons.decisions.select(pl.lit("person").alias("owner_kind"), "group", "outcome",
                                 "crm_id")])
    inserts, deletes, interests = plan_values(companies.frame, owners, state, snapshot, settings)
    if interests is not None:
        items.append(interests)
    plan = _assemble(companies, persons, inserts, deletes, items, settings)
    return replace(plan, warnings=pl.concat([plan.warnings, _no_company_made(frame, settings,
                                                                             headers)]))


def _no_company_made(frame: pl.DataFrame, settings: ImportSettings,
                     headers: dict[str, str]) -> pl.DataFrame:
    """Under `create_company`, a person with no name gets no company (never one named after
    an e-mail address): imported without company, and said."""
    if settings.person.if_no_company != "create_company":
        return pl.DataFrame(schema=WARNING_SCHEMA)
    column = next((c for c in ("person_email", "person_mobile", "person_phone")
                   if c in frame.columns), None)
    nameless = company_from_person(set(frame.columns)).is_null()
    return issues(frame.filter(pl.col("_has_person") & ~pl.col("_has_company") & nameless),
                  header=headers.get(column, "(row)") if column else "(row)",
                  field=column or "(row)", value=pl.col(column) if column else pl.lit(None),
                  code="no_company_made",
                  reason="a person without a name: no company is made for them "
                         "(if_no_company = create_company); imported without company"
                  ).collect().select(list(WARNING_SCHEMA)).cast(WARNING_SCHEMA)


def _rows(rows: pl.DataFrame, snapshot: CrmSnapshot, settings: ImportSettings,
          erp_system: str | None) -> tuple[pl.DataFrame, list[str], list[pl.DataFrame]]:
    """The rows as the entity steps read them: what each holds, the privacy values, list
    values in the CRM's spelling, and a company for a person without one under
    `create_company`. Returns (frame, the person value columns, new list items)."""
    if erp_system is not None:
        rows = rows.with_columns(
            pl.when(pl.col(f"{e}_erp_key").is_not_null()).then(pl.lit(erp_system))
            .alias(f"{e}_erp_system") for e in ("company", "person")
            if f"{e}_erp_key" in rows.columns)
    has_company, has_person = roles(rows, settings)
    person_cols = present(rows, "person") if settings.person.match != "none" else []
    frame = rows.with_columns(has_company.alias("_has_company"), has_person.alias("_has_person"))
    if settings.person.match == "none":
        frame = frame.filter(pl.col("_has_company"))
    # privacy fields are import values of every person (SPEC §3 [privacy])
    frame = frame.with_columns(
        pl.lit(settings.privacy.legal_basis).alias("person_legal_basis"),
        pl.lit(settings.privacy.consent_source).alias("person_consent_source"),
        pl.lit(settings.privacy.comment or None, pl.String).alias("person_consent_comment"),
    )
    value_columns = [c for c in (*person_cols, *PRIVACY_FIELDS) if c in frame.columns]
    items = []
    for column, list_name in LIST_FIELDS.items():
        if column in frame.columns:
            frame, added = resolve_lists(frame, snapshot.list_items, column, list_name,
                                         getattr(settings.lists, list_name))
            items.append(added)
    return _companies_for_persons(frame, snapshot, settings), value_columns, items


def _companies_for_persons(frame: pl.DataFrame, snapshot: CrmSnapshot,
                           settings: ImportSettings) -> pl.DataFrame:
    """Persons without a company follow if_no_company: under `create_company` a company
    named after the person, as its only member (matched by name next time)."""
    if settings.person.if_no_company != "create_company":
        return frame.with_columns(pl.lit(False).alias("_company_from_person"))
    orphan = (pl.col("_has_person") & ~pl.col("_has_company")
              & company_from_person(set(frame.columns)).is_not_null())
    # a person already in the CRM (found by a global key) keeps its own company link: no
    # company is made up for it
    candidates = frame.filter(orphan)  # (usually few: the check runs on them only)
    found_by = [(key, e) for key, e in zip(k.chain("person", settings.person.chain),
                                            k.chain_keys("person", settings.person.chain,
                                                         set(frame.columns)), strict=True)
                if k.is_global("person", key.name)]
    if found_by and candidates.height:
        crm = snapshot.person_keys["key"].implode()
        known = candidates.filter(pl.any_horizontal(e.is_in(crm).fill_null(False)
                                                    for _, e in found_by))
        orphan = orphan & ~pl.col("source_row").is_in(known["source_row"].implode())
    return frame.with_columns(
        pl.when(orphan).then(company_from_person(set(frame.columns))).otherwise(
            pl.col("company_name") if "company_name" in frame.columns else None
        ).alias("company_name"),
        orphan.alias("_company_from_person"),
        (pl.col("_has_company") | orphan).alias("_has_company"),
    )


def _received(cdec: pl.DataFrame, pdec: pl.DataFrame, changes: list[pl.DataFrame],
              inserts: pl.DataFrame) -> pl.DataFrame:
    """list_name, _k of the list values some record receives: a new record's, a field
    change's, an added interest. A value only the file names (a merge that keeps the CRM's
    position) creates no list item."""
    parts = [dec.filter(pl.col("outcome") == "new")
             .select(pl.lit(name).alias("list_name"), nz.text_key(pl.col(column)).alias("_k"))
             for dec in (cdec, pdec) for column, name in LIST_FIELDS.items()
             if column in dec.columns]
    crm_column = {column.split("_", 1)[1]: name for column, name in LIST_FIELDS.items()}
    parts += [change.filter(pl.col("field").is_in(list(crm_column)))
              .select(pl.col("field").replace_strict(crm_column).alias("list_name"),
                      nz.text_key(pl.col("new_value")).alias("_k"))
              for change in changes]
    parts.append(inserts.filter(pl.col("table") == "interest")
                 .select(pl.lit("interest").alias("list_name"),
                         nz.text_key(pl.col("value")).alias("_k")))
    return pl.concat(parts).drop_nulls().unique()


def _assemble(companies: Companies, persons: Persons, inserts: pl.DataFrame,
              deletes: pl.DataFrame, items: list[pl.DataFrame], settings: ImportSettings) -> Plan:
    """Outcomes settled (matched → updated or unchanged), per-row views, the plan."""
    cdec = settle(companies.decisions, "company", companies.changes, inserts, deletes)
    pdec = settle(persons.decisions, "person", persons.changes, inserts, deletes)
    crows, prows = companies.rows, persons.rows

    def per_row(rows: pl.DataFrame, dec: pl.DataFrame, entity: str) -> pl.DataFrame:
        return (rows.select("source_row", "group")
                .join(dec.select("group", "outcome", "crm_id", "reason"), on="group")
                .with_columns(pl.lit(entity).alias("entity")))

    row_plan = (pl.concat([per_row(crows, cdec, "company"), per_row(prows, pdec, "person")])
                .select("source_row", "entity", "outcome", "crm_id", "reason", "group")
                .sort("source_row", "entity"))
    # (which key of the chain found each record, and with which value: `first_found`)
    candidates = pl.concat([
        rows.select("source_row", "group").join(pairs, on="group")
        .with_columns(pl.lit(entity).alias("entity"))
        for entity, rows, pairs in (("company", crows, companies.pairs),
                                    ("person", prows, persons.pairs))
    ]).select("source_row", "entity", "match_key", "key_value", "crm_id")
    new_items = (pl.concat(items, how="vertical_relaxed") if items
                 else pl.DataFrame(schema=LIST_ITEMS))
    new_items = (new_items.with_columns(nz.text_key(pl.col("value")).alias("_k"))
                 .unique(["list_name", "_k"], keep="first", maintain_order=True)
                 .join(_received(cdec, pdec, [companies.changes, persons.changes], inserts),
                       on=["list_name", "_k"], how="semi").drop("_k"))
    return Plan(
        company=EntityPlan(cdec, crows.select("source_row", "group"), companies.changes),
        person=EntityPlan(pdec, prows.select("source_row", "group"), persons.changes),
        person_company=pdec.select("group", pl.col("_cgroup").alias("company_group")),
        value_inserts=inserts,
        value_deletes=deletes,
        list_items_new=new_items,
        rejects=pl.concat(companies.rejects, how="vertical_relaxed").collect().cast(ISSUE_SCHEMA),
        warnings=(pl.concat([*companies.warnings, *persons.warnings], how="diagonal_relaxed")
                  .collect().select(list(WARNING_SCHEMA)).cast(WARNING_SCHEMA)),
        candidates=candidates,
        row_plan=row_plan,
    )
