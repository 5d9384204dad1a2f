"""Whose a row's values are: its company's or its person's (SPEC §3, "company-only row",
"private address"). One rule for every source, applied to the canonical frame before
validation, so the plan, the chunks and the warnings all see the values where they land:

- a row that names a company (a company name, or a value of a company match key) and no
  person (no name, and no value for any key of the person match chain) is a company row:
  its e-mails, phones, web address, notes and address are the company's;
- a row that names no company but holds a person is a private person: its generic values
  (address, phones, e-mail, web address, notes) are the person's, whatever column they
  came from.

Values with no counterpart on the other side (a title on a company row, a category on a
private row) are left out with a warning (`validate.check_rows` asks `left_behind`).
Address-book exports follow the same rule on their long frame (`sources.contacts`), with
these maps.
"""

from __future__ import annotations

import polars as pl

from contracts.fields import FIELDS_BY_NAME, base_field
from contracts.keys import MATCH_KEYS, match_key
from contracts.settings import ImportSettings

ADDRESS_PARTS = ("street", "postcode", "city", "country")
NAME_FIELDS = ("person_first_name", "person_middle_name", "person_last_name", "person_full_name")
# a company row: the person's values move to the company
PERSON_TO_COMPANY = {
    "person_email": "company_email", "person_phone": "company_phone",
    "person_home_phone": "company_phone", "person_mobile": "company_phone",
    "person_other_phone": "company_phone", "person_pager": "company_phone",
    "person_fax": "company_fax", "person_url": "company_url", "person_notes": "company_notes",
    **{f"person_{p}": f"company_{p}" for p in ADDRESS_PARTS},
}
# a private person: what the columns call the company's is the person's
COMPANY_TO_PERSON = {
    "company_email": "person_email", "company_phone": "person_phone",
    "company_fax": "person_fax", "company_url": "person_url", "company_notes": "person_notes",
    **{f"company_{p}": f"person_{p}" for p in ADDRESS_PARTS},
}
# columns that name a company whatever the settings (a CRM id, an ERP key)
_COMPANY_IDS = ("company_name", "company_erp_key", "company_id")
_PERSON_IDS = ("person_erp_key", "person_id")


def _filled(names: set[str], columns: list[str] | tuple[str, ...]) -> pl.Expr:
    cols = [c for c in dict.fromkeys(columns) if c in names]
    return pl.any_horizontal([pl.col(c).is_not_null() for c in cols]) if cols else pl.lit(False)


def company_named(names: set[str]) -> pl.Expr:
    """The row names a company: its name, an id, or a value of any company match key (not
    only the settings': an org number names a company whatever the company is found by)."""
    keys = [c for key in MATCH_KEYS if key.entity == "company" for c in key.needs]
    return _filled(names, [*_COMPANY_IDS, *keys])


def person_named(names: set[str], settings: ImportSettings) -> pl.Expr:
    """The row names a person: a name, an id, or a value of a key of the person chain."""
    chain = [] if settings.person.chain == ("none",) else list(settings.person.chain)
    keys = [c for name in chain for c in match_key("person", name).columns]
    return _filled(names, [*NAME_FIELDS, *_PERSON_IDS, *keys])


def _values(names: set[str], entity: str) -> list[str]:
    return [c for c in names if (f := base_field(c)) is not None and f.entity == entity
            and not c.endswith("__key")]


def roles(names: set[str], settings: ImportSettings) -> tuple[pl.Expr, pl.Expr]:
    """(holds a company, holds a person) of each row: a company when it names one; a person
    when it names one, or holds person values and names no company."""
    company = company_named(names)
    if settings.person.chain == ("none",):
        return company, pl.lit(False)
    person = person_named(names, settings) | (~company & _filled(names, _values(names, "person")))
    return company, person


def _index(column: str) -> int:
    tail = column.rpartition("_")[2]
    return int(tail) if tail.isdigit() and column not in FIELDS_BY_NAME else 1


def assign_roles(frame: pl.DataFrame, headers: dict[str, str], settings: ImportSettings
                 ) -> tuple[pl.DataFrame, dict[str, str]]:
    """Values moved to the entity they belong to (see the module docstring). A moved
    multi-valued value gets a numbered column of its own (`company_email_3`), named by the
    column it came from; the column set depends only on the file's columns, so every batch
    of a streamed file has the same."""
    names = set(frame.columns)
    company, person = company_named(names), person_named(names, settings)
    to_company = company & ~person
    to_person = ~company & _filled(names, _values(names, "person") + _values(names, "company"))
    moves = [(c, target, cond) for c in frame.columns if (f := base_field(c)) is not None
             for table, cond in ((PERSON_TO_COMPANY, to_company), (COMPANY_TO_PERSON, to_person))
             if (target := table.get(f.name)) is not None]
    if not moves:
        return frame, headers
    headers = dict(headers)
    taken: dict[str, int] = {}
    for c in frame.columns:
        if (f := base_field(c)) is not None and f.multi is not None:
            taken[f.name] = max(taken.get(f.name, 0), _index(c))
    out: dict[str, pl.Expr] = {}
    for source, target, cond in moves:
        moved = pl.when(cond).then(pl.col(source))
        if FIELDS_BY_NAME[target].multi is not None:
            taken[target] = taken.get(target, 0) + 1
            column = target if taken[target] == 1 else f"{target}_{taken[target]}"
            out[column] = moved
        elif target.endswith("_notes"):  # both notes kept, the row's own first
            mine = out.get(target, pl.col(target) if target in names else pl.lit(None, pl.String))
            both = pl.concat_str([mine, pl.col(source)], separator="\n", ignore_nulls=True)
            out[target] = pl.when(cond).then(both.replace("", None)).otherwise(mine)
            column = target
        else:  # the row's own value first
            mine = out.get(target, pl.col(target) if target in names else pl.lit(None, pl.String))
            out[target] = pl.coalesce(mine, moved)
            column = target
        headers.setdefault(column, headers.get(source, source))
        out[source] = pl.when(cond).then(None).otherwise(out.get(source, pl.col(source)))
    return frame.with_columns(e.cast(pl.String).alias(c) for c, e in out.items()), headers


def left_behind(frame: pl.LazyFrame, settings: ImportSettings) -> pl.LazyFrame:
    """source_row, field of values no entity of their row takes: a person's on a company
    row, a company's on a private person's row (after `assign_roles`)."""
    names = set(frame.collect_schema().names())
    company, person = roles(names, settings)
    sides = [(entity, cond, _values(names, entity)) for entity, cond in
             (("person", company & ~person), ("company", person & ~company))]
    if not any(cols for _, _, cols in sides):
        return pl.LazyFrame(schema={"source_row": pl.Int64, "field": pl.String,
                                    "value": pl.String})
    # (one pass finds the few rows that have such values; only they are taken apart)
    few = frame.with_columns(*[cond.alias(f"_{entity}_left") for entity, cond, _ in sides]) \
        .filter(pl.any_horizontal(pl.col(f"_{entity}_left") & _filled(names, cols)
                                  for entity, _, cols in sides))
    return pl.concat([few.filter(pl.col(f"_{entity}_left") & pl.col(c).is_not_null())
                      .select("source_row", pl.lit(c).alias("field"),
                              pl.col(c).cast(pl.String).alias("value"))
                      for entity, _, cols in sides for c in cols])
