"""What a row of the file is: does it hold a company, a person, and by which keys are they
found. Shared by the plan and by the chunks of a large file (`transforms.chunks`), which
must tie rows exactly as the plan groups them."""

from __future__ import annotations

import polars as pl

from contracts.errors import MissingMatchColumn
from contracts.fields import base_field
from contracts.settings import ImportSettings
from transforms import keys as k
from transforms import normalise as nz
from transforms.roles import roles as row_roles


def present(frame: pl.DataFrame, entity: str) -> list[str]:
    """Canonical value columns of an entity present in the frame (multi-valued included)."""
    return [c for c in frame.columns
            if (f := base_field(c)) is not None and f.entity == entity and not c.endswith("__key")]


def roles(rows: pl.DataFrame, settings: ImportSettings) -> tuple[pl.Expr, pl.Expr]:
    """(has a company, has a person) of each row (`transforms.roles`)."""
    return row_roles(set(rows.columns), settings)


def company_from_person(names: set[str]) -> pl.Expr:
    """The name of the company `if_no_company = "create_company"` makes for a person: their
    full name (null for a person without a name: never a company named after an e-mail
    address; that person is imported without company, with a warning)."""
    parts = [pl.col(c) if c in names else pl.lit(None, pl.String)
             for c in ("person_first_name", "person_middle_name", "person_last_name")]
    return nz.full_name(*parts)


def require_match_columns(names: set[str], settings: ImportSettings, *, has_company: bool,
                          has_person: bool, headers: dict[str, str]) -> None:
    """A key column the file lacks is an error before anything happens (SPEC §3); under a
    chain of keys, only when the file lacks every key of the chain."""
    mapped = sorted(headers.get(c, c) for c in names if base_field(c) is not None)
    for entity, chain, has in (("company", settings.company.chain, has_company),
                               ("person", settings.person.chain, has_person)):
        needs = [k.required_columns(entity, match) for match in chain]
        if has and all(need and not any(c in names for c in need) for need in needs):
            raise MissingMatchColumn(entity, chain[0] if len(chain) == 1 else list(chain),
                                     [c for need in needs for c in need], mapped)


def key_columns(settings: ImportSettings) -> tuple[list[str], list[str]]:
    """The columns of `row_keys`: one per key of the company chain, one per key of the
    person chain."""
    return ([f"c{i}" for i in range(len(settings.company.chain))],
            [f"p{i}" for i in range(len(settings.person.chain))])


def row_keys(rows: pl.DataFrame, settings: ImportSettings) -> pl.DataFrame:
    """source_row; c0, c1, … (the named company key of each level of the chain), p0, … (the
    person's), t0, … (each person key within its scope: the row's first company key, for a
    key scoped to the company) of validated rows. Per row only: a streamed file's batches
    each give theirs.

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
    cols, pcols = key_columns(settings)
    ckeys = [pl.when(has_company).then(e) for e in k.chain_keys("company", settings.company.chain,
                                                                 names)]
    pkeys = [pl.when(has_person).then(e) for e in k.chain_keys("person", settings.person.chain,
                                                                names)]
    out = rows.select("source_row", *[e.alias(c) for c, e in zip(cols, ckeys, strict=True)],
                      *[e.alias(p) for p, e in zip(pcols, pkeys, strict=True)])
    first = k.first_present([pl.col(c) for c in cols])
    return out.with_columns(
        (k.file_scope(key, first) + pl.lit("|") + pl.col(p)).alias(f"t{i}")
        for i, (key, p) in enumerate(zip(k.chain("person", settings.person.chain), pcols,
                                         strict=True)))
