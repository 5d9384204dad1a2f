"""The import plan (SPEC §3): pure functions from validated rows and a CRM snapshot to one
decision per entity. `contacts` dispatches over the steps: `rows` (what a row holds and by
which keys it is found), `company`, `person`, `entities` (grouping, matching, deciding,
field changes: shared with products), `values` (phones, e-mails, URLs, interests) and
`lists` (list values)."""

from transforms.plan.contacts import plan_contacts
from transforms.plan.entities import (
    conflict_warnings,
    decide,
    field_changes,
    group_entities,
    settle,
)
from transforms.plan.lists import resolve_lists
from transforms.plan.model import (
    CHANGE_SCHEMA,
    COMPANY_COLUMNS,
    DELETE_SCHEMA,
    OUTCOMES,
    PERSON_COLUMNS,
    VALUE_SCHEMA,
    CrmSnapshot,
    EntityPlan,
    Plan,
)
from transforms.plan.rows import company_from_person, row_keys
from transforms.plan.values import position_in_run

__all__ = ["CHANGE_SCHEMA", "COMPANY_COLUMNS", "DELETE_SCHEMA", "OUTCOMES", "PERSON_COLUMNS",
           "VALUE_SCHEMA", "CrmSnapshot", "EntityPlan", "Plan", "company_from_person",
           "conflict_warnings", "decide", "field_changes", "group_entities", "plan_contacts",
           "position_in_run", "resolve_lists", "row_keys", "settle"]
