"""What a plan is: one decision per entity, its field changes and value changes
(`Plan`), and the part of the CRM it was made against (`CrmSnapshot`)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from contracts.fields import FIELDS, PRIVACY_FIELDS
from transforms.summary import OUTCOMES

COMPANY_COLUMNS: dict[str, str] = {
    f.name: f.column for f in FIELDS if f.entity == "company" and f.column
}
PERSON_COLUMNS: dict[str, str] = {
    **{f.name: f.column for f in FIELDS if f.entity == "person" and f.column},
    **PRIVACY_FIELDS,
}
LIST_FIELDS = {"company_category": "category", "company_business": "business",
               "person_position": "position"}

CHANGE_SCHEMA = pl.Schema({"group": pl.String, "crm_id": pl.Int64, "field": pl.String,
                           "old_value": pl.String, "new_value": pl.String,
                           "target_group": pl.String})
# key: what values are compared on (phones: E.164, else digits); e164: a phone's E.164 form
VALUE_SCHEMA = pl.Schema({"owner_kind": pl.String, "group": pl.String, "crm_id": pl.Int64,
                          "table": pl.String, "kind": pl.String, "value": pl.String,
                          "key": pl.String, "e164": pl.String, "rank": pl.Int64})
DELETE_SCHEMA = pl.Schema({"owner_kind": pl.String, "group": pl.String, "crm_id": pl.Int64,
                           "table": pl.String, "value_id": pl.Int64, "kind": pl.String,
                           "value": pl.String, "key": pl.String, "e164": pl.String,
                           "rank": pl.Int64})
# the values CRM owners hold (phones, e-mails, URLs, interests), as the plan compares them
EXISTING_SCHEMA = pl.Schema({"owner_kind": pl.String, "crm_id": pl.Int64, "table": pl.String,
                             "value_id": pl.Int64, "kind": pl.String, "value": pl.String,
                             "key": pl.String, "e164": pl.String, "rank": pl.Int64})
KEYS_SCHEMA = pl.Schema({"crm_id": pl.Int64, "scope": pl.String, "key": pl.String})
ERP_SCHEMA = pl.Schema({"crm_id": pl.Int64, "erp_key": pl.String})
LIST_ITEM_SCHEMA = pl.Schema({"list_name": pl.String, "value": pl.String,
                              "is_default": pl.Boolean})


@dataclass(frozen=True)
class EntityPlan:
    """Decisions for one entity kind.

    decisions: group, crm_id, outcome, reason, first_row, + canonical columns (import values)
    rows: source_row → group
    changes: field updates of matched records (CHANGE_SCHEMA)
    """

    decisions: pl.DataFrame
    rows: pl.DataFrame
    changes: pl.DataFrame

    def counts(self) -> dict[str, int]:
        counts = self.decisions.group_by("outcome").len()
        got = dict(zip(counts["outcome"].to_list(), counts["len"].to_list(), strict=True))
        return {o: int(got.get(o, 0)) for o in OUTCOMES}


@dataclass(frozen=True)
class Plan:
    company: EntityPlan
    person: EntityPlan
    person_company: pl.DataFrame  # person group → company group (None: without company)
    value_inserts: pl.DataFrame  # VALUE_SCHEMA
    value_deletes: pl.DataFrame  # DELETE_SCHEMA
    list_items_new: pl.DataFrame  # list_name, value
    rejects: pl.DataFrame  # rows rejected while planning (ISSUE_SCHEMA)
    warnings: pl.DataFrame  # WARNING_SCHEMA
    candidates: pl.DataFrame  # source_row, entity, match_key, key_value, crm_id
    row_plan: pl.DataFrame  # source_row, entity, outcome, crm_id, reason, group

    @property
    def entities(self) -> dict[str, EntityPlan]:
        return {"company": self.company, "person": self.person}


@dataclass(frozen=True)
class CrmSnapshot:
    """The part of the CRM a file's keys can reach, read once before planning
    (`transforms.snapshot.read_snapshot`); planning reads nothing else.

    company_keys / person_keys: crm_id, scope, key (KEYS_SCHEMA) of the settings' match key;
    erp_company / erp_person: crm_id, erp_key of the records linked to the run's ERP system;
    companies / persons: the CRM rows those keys reach (crm_id + CRM columns);
    values: the phones, e-mails, URLs and interests those records hold (EXISTING_SCHEMA);
    list_items: every list item (LIST_ITEM_SCHEMA).
    """

    company_keys: pl.DataFrame
    person_keys: pl.DataFrame
    companies: pl.DataFrame
    persons: pl.DataFrame
    values: pl.DataFrame
    list_items: pl.DataFrame
    erp_company: pl.DataFrame
    erp_person: pl.DataFrame

    @classmethod
    def empty(cls) -> CrmSnapshot:
        """An empty CRM (a test builds on it with `dataclasses.replace`)."""
        keys = pl.DataFrame(schema=KEYS_SCHEMA)
        return cls(company_keys=keys, person_keys=keys,
                   companies=pl.DataFrame(schema={"crm_id": pl.Int64}),
                   persons=pl.DataFrame(schema={"crm_id": pl.Int64, "company_id": pl.Int64}),
                   values=pl.DataFrame(schema=EXISTING_SCHEMA),
                   list_items=pl.DataFrame(schema=LIST_ITEM_SCHEMA),
                   erp_company=pl.DataFrame(schema=ERP_SCHEMA),
                   erp_person=pl.DataFrame(schema=ERP_SCHEMA))
