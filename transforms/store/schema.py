"""Facts about the CRM schema that the stores and the SQL builders share."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

SCHEMA_VERSION = 7  # = the newest file in store/migrations (schema.sql is version 1)

# CRM column types that are not text (for casts in updates and restores)
COLUMN_TYPES: dict[str, dict[str, str]] = {
    "company": {"company_id": "BIGINT"},
    "person": {"person_id": "BIGINT", "company_id": "BIGINT", "birth_date": "DATE"},
    "product": {"product_id": "BIGINT", "price_list_id": "BIGINT", "list_price": "DECIMAL(18, 4)",
                "min_price": "DECIMAL(18, 4)", "cost": "DECIMAL(18, 4)", "vat_rate": "DECIMAL(9, 4)",
                "in_assortment": "BOOLEAN"},
}

ID_COLUMN = {"company": "company_id", "person": "person_id", "phone": "phone_id",
             "email": "email_id", "url": "url_id", "interest": "interest_id",
             "list_item": "list_item_id", "product": "product_id",
             "price_list": "price_list_id", "change_log": "change_id"}
# the highest id in use where the table named is a view: read from what it shows, not
# through it (the change log's ranges would each be spelt out)
TOP_ID = {"change_log": "SELECT greatest((SELECT coalesce(max(change_id), 0) FROM change_log_entry), "
                        "(SELECT coalesce(max(change_id + last_id - first_id), 0) "
                        "FROM change_log_range))"}


@dataclass(frozen=True)
class ValueTable:
    """How a multi-valued field's table stores its values (SPEC §5: phone, email, url,
    interest; each row owned by `owner_kind`/`owner_id`)."""
    id_column: str
    value: str  # the value as given
    e164: str | None = None  # a phone's E.164 form (empty where it has none)
    kind: bool = False  # phones have a kind (mobile, phone, fax …)
    rank: bool = True


VALUE_STORAGE: dict[str, ValueTable] = {
    "phone": ValueTable("phone_id", "number", e164="number_e164", kind=True),
    "email": ValueTable("email_id", "address"),
    "url": ValueTable("url_id", "url"),
    "interest": ValueTable("interest_id", "value", rank=False),
}


# staging.outcomes' lists (each shown a row an entry by the view staging.<list>, a table
# until 2026-12) and the fields of an entry
OUTCOME_LISTS = {
    "plan": ("entity", "outcome", "crm_id", "reason"),
    "changes": ("entity", "crm_id", "field", "old_value", "new_value"),
    "candidates": ("entity", "match_key", "key_value", "crm_id"),
}


def outcome_rows(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """staging.outcomes' rows (but run_id) from long frames (list name → source_row and the
    entry's fields): a row per source row, its entries as lists in the frames' order.
    (In polars: DuckDB's list() by group with a join of the three took 5× as long.)"""
    lists = [frame.group_by("source_row", maintain_order=True).agg(
                 pl.struct(OUTCOME_LISTS[name]).alias(name))
             for name, frame in frames.items() if frame.height]
    if not lists:
        return pl.DataFrame(schema={"source_row": pl.Int64})
    out = lists[0]
    for more in lists[1:]:
        out = out.join(more, on="source_row", how="full", coalesce=True, maintain_order="left")
    return out.sort("source_row", maintain_order=True)
