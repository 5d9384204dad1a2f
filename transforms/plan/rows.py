"""What a row of the file is: does it hold a company, a person, and by which keys are they
found. Shared by the plan and by the chunks of a large file (`transforms.chunks`), which
must tie rows exactly as the plan groups them."""

from __future__ import annotations

import polars as pl

from contracts.errors import MissingMatchColumn
from contracts.fields import base_field
from contracts.settings import ImportSettings
from transforms import keys as k
from transforms.roles import roles as row_roles


def present(frame: pl.DataFrame, entity: str) -> list[str]:
    """Canonical value columns of an entity present in the frame (multi-valued included)."""
    return [c for c in frame.columns
            if (f := base_field(c)) is not None and f.entity == entity and not c.endswith("__key")]


def filled(columns: list[str]) -> pl.Expr:
    return pl.any_horizontal([pl.col(c).is_not_null() for c in columns]) if columns else pl.lit(False)


def roles(rows: pl.DataFrame, settings: ImportSettings) -> tuple[pl.Expr, pl.Expr]:
    """(has a company, has a person) of each row (`transforms.roles`)."""
    return row_roles(set(rows.columns), settings)


def company_from_person(names: set[str]) -> pl.Expr:
    """The name of the company `if_no_company = "create_company"` makes for a person: their
    full name (null for a person without a name: never a company named after an e-mail
    address; that person is imported without company, with a warning)."""
    if not names & {"person_first_name", "person_middle_name", "person_last_name"}:
        return pl.lit(None, pl.String)
    return pl.concat_str([pl.col(c) for c in ("person_first_name", "person_middle_name",
                                              "person_last_name") if c in names],
                         separator=" ", ignore_nulls=True).replace("", None)


def require_match_columns(names: set[str], settings: ImportSettings, *, has_company: bool,
                          has_person: bool, headers: dict[str, str]) -> None:
    """A key column the file lacks is an error before anything happens (SPEC §3)."""
    mapped = sorted(headers.get(c, c) for c in names if base_field(c) is not None)
    for entity, match, has in (("company", settings.company.match, has_company),
                               ("person", settings.person.match, has_person)):
        need = k.required_columns(entity, match)
        if has and need and not any(c in names for c in need):
            raise MissingMatchColumn(entity, match, list(need), mapped)


def row_keys(rows: pl.DataFrame, settings: ImportSettings) -> pl.DataFrame:
    """source_row, ckey, pkey, tie (the person key within its scope) of validated rows.

    A person without a company under `create_company` gets the company the plan would make
    from their name (always, here: the plan leaves it out for a person the CRM knows by a
    global key, and a key too many only reads or ties a little more)."""
    has_company, has_person = roles(rows, settings)
    names = set(rows.columns)
    if settings.person.if_no_company == "create_company":
        orphan = has_person & ~has_company & company_from_person(names).is_not_null()
        rows = rows.with_columns(
            pl.when(orphan).then(company_from_person(names)).otherwise(
                pl.col("company_name") if "company_name" in names else None).alias("company_name"))
        has_company = has_company | orphan
        names.add("company_name")
    ckey = pl.when(has_company).then(k.company_key(settings.company.match, names))
    pkey = pl.when(has_person).then(k.person_key(settings.person.match, names))
    person = k.match_key("person", settings.person.match)
    return rows.select("source_row", ckey.alias("ckey"), pkey.alias("pkey")).with_columns(
        pl.when(pl.col("pkey").is_not_null())
        .then(pl.concat_str([k.file_scope(person, pl.col("ckey")), pl.col("pkey")],
                            separator="|")).alias("tie"))
