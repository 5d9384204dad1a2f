"""Contracts applied to the canonical frame: rejects (row out) and warnings (value out).

SPEC §3 "Rejects and warnings": a row is rejected when a value it is matched on is
invalid, when it has nothing to identify a company or person by, or when a value cannot
be stored; an invalid optional value is dropped alone and reported as a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from contracts.canonical import FORMULA_ERROR_CHECK, NUL_CHECK, CanonicalContact, nul_check_schema
from contracts.countries import POSTCODE_DIGITS
from contracts.fields import base_field
from contracts.keys import match_key
from contracts.settings import ImportSettings
from transforms import keys as k
from transforms import normalise as nz
from transforms.roles import left_behind

ISSUE_SCHEMA = pl.Schema({"source_row": pl.Int64, "column": pl.String, "field": pl.String,
                "value": pl.String, "reason": pl.String})
WARNING_SCHEMA = pl.Schema({**dict(ISSUE_SCHEMA), "code": pl.String()})


@dataclass(frozen=True)
class Checked:
    rows: pl.DataFrame  # valid rows, bad optional values nulled, `<col>__key` key columns
    rejects: pl.DataFrame  # ISSUE_SCHEMA
    warnings: pl.DataFrame  # WARNING_SCHEMA


def empty_issues(warn: bool = False) -> pl.DataFrame:
    return pl.DataFrame(schema=WARNING_SCHEMA if warn else ISSUE_SCHEMA)


def issues(frame: pl.DataFrame | pl.LazyFrame, *, header: str, field: str, reason: str,
           code: str | None = None, value: pl.Expr | None = None) -> pl.LazyFrame:
    """Issue rows for every row of `frame` (source_row + the value of `field`)."""
    out = frame.lazy().select(
        pl.col("source_row"),
        pl.lit(header).alias("column"),
        pl.lit(field).alias("field"),
        (value if value is not None else pl.col(field)).cast(pl.String).alias("value"),
        pl.lit(reason).alias("reason"),
    )
    return out.with_columns(pl.lit(code).alias("code")) if code else out


def storage_rejects(rows: pl.DataFrame, headers: dict[str, str],
                    model: type[pa.DataFrameModel] = CanonicalContact) -> pl.LazyFrame:
    """Values that cannot be stored: over the column's limit, or holding a NUL."""
    text_cols = [c for c in rows.columns if base_field(c) is not None]
    found = []
    for schema in (model, nul_check_schema(text_cols)):
        try:
            schema.validate(rows, lazy=True)
        except pa.errors.SchemaErrors as exc:
            found.append(exc.failure_cases.filter(pl.col("index").is_not_null()))
    if not found:
        return empty_issues().lazy()
    cases = pl.concat(found, how="vertical_relaxed")
    indexed = rows.with_row_index("index").with_columns(pl.col("index").cast(pl.Int32))
    # the value comes from the frame: failure_case is a printable rendering
    long = indexed.unpivot(index=["index", "source_row"], variable_name="column", value_name="value")
    return (
        cases.lazy()
        .select("index", "column", "check")
        .join(long.lazy(), on=["index", "column"], how="left")
        .select(
            pl.col("source_row"),
            pl.col("column").replace_strict(headers, default=pl.col("column")).alias("column"),
            pl.col("column").alias("field"),
            pl.col("value"),
            pl.when(pl.col("check") == NUL_CHECK)
            .then(pl.lit("contains a NUL character, which cannot be stored"))
            .when(pl.col("check") == FORMULA_ERROR_CHECK)
            .then(pl.lit("a formula error in the file, not a value: fix the formula or the cell"))
            .otherwise(pl.lit("too long for the CRM column (") + pl.col("check") + pl.lit(")"))
            .alias("reason"),
        )
    )


def check_rows(canonical: pl.DataFrame, *, settings: ImportSettings,
               headers: dict[str, str]) -> Checked:
    """Validate and add key columns. `headers`: canonical column → header in the file."""
    def hdr(c: str) -> str:
        return headers.get(c, c)

    phone_cols = _columns_of(canonical, "phone")
    email_cols = _columns_of(canonical, "email")
    # each entity's country as a region code (phones are read in it, postcodes padded to it)
    regions = {e: nz.country_regions(canonical[f"{e}_country"])
               if f"{e}_country" in canonical.columns else pl.lit(None, pl.String)
               for e in ("company", "person")}
    frame = _with_value_keys(canonical, phone_cols, email_cols, regions,
                             region=settings.import_.phone_region).collect().lazy()
    reject_parts = [storage_rejects(canonical, headers)]
    # the match keys in use: a value that cannot be a key rejects its row (`contracts.keys`)
    # (under a chain of keys, a value that cannot be a key is dropped with a warning: the
    # row can still be found by the chain's other keys)
    in_use = [match_key(entity, section.chain[0]) for entity, section in
              (("company", settings.company), ("person", settings.person))
              if len(section.chain) == 1]
    key_columns = {c for key in in_use if key.invalid for c in key.columns[:1]}
    names = set(frame.collect_schema().names())
    for key in in_use:
        bad_key = k.invalid_value(key, names)
        if bad_key is not None and key.invalid is not None:
            c = key.columns[0]
            reject_parts.append(issues(frame.filter(bad_key), header=hdr(c), field=c,
                                       reason=key.invalid))
    frame, warn_parts = _drop_invalid(frame, [c for c in phone_cols + email_cols
                                              if c not in key_columns], phone_cols, hdr)
    frame, more = _dates_and_ids(frame, set(canonical.columns) - key_columns, hdr)
    for entity in ("company", "person"):
        # (a record that names a country we do not know is padded by no country's rule)
        country = f"{entity}_country"
        region = (pl.when(pl.col(country).is_null()).then(pl.lit(settings.import_.phone_region))
                  .otherwise(regions[entity]) if country in canonical.columns
                  else pl.lit(settings.import_.phone_region))
        frame, padded = _postcode_zeros(frame, f"{entity}_postcode", set(canonical.columns), hdr,
                                        region)
        more += padded
    warn_parts += more
    warn_parts.append(_left_behind(frame, settings, hdr))
    reject_parts.append(_nameless(frame))
    rejects = pl.concat(reject_parts, how="vertical_relaxed").collect().sort("source_row", "column")
    warnings = (pl.concat(warn_parts, how="vertical_relaxed").collect()
                if warn_parts else empty_issues(warn=True))
    rejected = rejects.lazy().select("source_row").unique()
    rows = frame.join(rejected, on="source_row", how="anti")
    # a rejected row's warnings are noise: the row is reported once, as rejected
    warnings = warnings.join(rejects.select("source_row").unique(), on="source_row", how="anti")
    return Checked(rows.sort("source_row").collect(), rejects, warnings.sort("source_row"))


def _columns_of(frame: pl.DataFrame, multi: str) -> list[str]:
    return [c for c in frame.columns if (f := base_field(c)) is not None and f.multi == multi]


def _with_value_keys(canonical: pl.DataFrame, phone_cols: list[str], email_cols: list[str],
                     regions: dict[str, pl.Expr], *, region: str) -> pl.LazyFrame:
    """`<column>__key` beside each phone (E.164) and e-mail column: the libraries run once
    per unique value."""
    frame = canonical.lazy()
    if phone_cols:
        # a number without a country code is read in its record's country, else phone_region
        def where(c: str) -> pl.Expr:
            own, other = ("company", "person") if c.startswith("company_") else ("person", "company")
            return pl.coalesce(regions[own], regions[other], pl.lit(region))

        pairs = pl.concat([canonical.select(pl.col(c).alias("value"), where(c).alias("region"))
                           for c in phone_cols])
        lookup = nz.with_phone_keys(nz.phone_lookup(pairs)).lazy()
        for c in phone_cols:
            frame = (frame.with_columns(where(c).alias("_region"))
                     .join(lookup.rename({"value": c, "region": "_region", "e164": f"{c}__e164",
                                          "key": f"{c}__key"}),
                           on=[c, "_region"], how="left", nulls_equal=False)
                     .drop("_region"))
    if email_cols:
        emails = nz.email_lookup(pl.concat([canonical[c] for c in email_cols]).unique()).lazy()
        for c in email_cols:
            frame = frame.join(emails.rename({"value": c, "key": f"{c}__key"}), on=c, how="left")
    return frame


def _drop_invalid(frame: pl.LazyFrame, columns: list[str], phone_cols: list[str],
                  hdr: Callable[[str], str]) -> tuple[pl.LazyFrame, list[pl.LazyFrame]]:
    """An invalid e-mail or phone that is not the match key is dropped alone, with a
    warning; a phone with digits but no E.164 form is kept as given, with a warning."""
    warn_parts = []
    names = set(frame.collect_schema().names())
    # every warning is found in the frame as it came (a column's drop changes no other
    # column), and the drops are one step: a record with hundreds of e-mail columns costs
    # linear time, not a chain of hundreds of plans each re-run
    for c in [c for c in phone_cols if f"{c}__e164" in names]:
        kept = frame.filter(pl.col(f"{c}__key").is_not_null() & pl.col(f"{c}__e164").is_null())
        warn_parts.append(issues(kept, header=hdr(c), field=c, code="phone_not_normalised",
                                 reason="kept as given: no country code and none known for the "
                                        "record, or not a complete number (no E.164 form)"))
    for c in columns:
        bad = frame.filter(pl.col(c).is_not_null() & pl.col(f"{c}__key").is_null())
        what = "phone number (no digits)" if c in phone_cols else "email address"
        warn_parts.append(issues(bad, header=hdr(c), field=c, code="invalid_value",
                                 reason=f"not a valid {what}; value dropped"))
    if columns:
        frame = frame.with_columns(
            pl.when(pl.col(f"{c}__key").is_null()).then(None).otherwise(pl.col(c)).alias(c)
            for c in columns)
    return frame, warn_parts


def _dates_and_ids(frame: pl.LazyFrame, cols: set[str], hdr: Callable[[str], str]
                   ) -> tuple[pl.LazyFrame, list[pl.LazyFrame]]:
    """Birth dates parsed (else dropped, with a warning); an id that is not the match key
    must still be a CRM id, or it is dropped."""
    warn_parts = []
    if "person_birth_date" in cols:
        parsed = nz.parse_date(pl.col("person_birth_date"))
        bad = frame.filter(pl.col("person_birth_date").is_not_null() & parsed.is_null())
        warn_parts.append(issues(bad, header=hdr("person_birth_date"), field="person_birth_date",
                                 code="invalid_value", reason="not a date; value dropped"))
        frame = frame.with_columns(parsed.cast(pl.String).alias("person_birth_date"))
    for c in ("company_id", "person_id"):
        if c in cols:
            ok = nz.is_crm_id(pl.col(c))
            bad = frame.filter(pl.col(c).is_not_null() & ~ok)
            warn_parts.append(issues(bad, header=hdr(c), field=c, code="invalid_value",
                                     reason="not a CRM id; value dropped"))
            frame = frame.with_columns(pl.when(ok).then(pl.col(c)).alias(c))
    return frame, warn_parts


def _postcode_zeros(frame: pl.LazyFrame, c: str, cols: set[str], hdr: Callable[[str], str],
                    region: pl.Expr) -> tuple[pl.LazyFrame, list[pl.LazyFrame]]:
    """A postcode of digits shorter than its country's postcodes (a spreadsheet cell that
    held 0150 as the number 150) gets its leading zeros back, with a warning. `region`: the
    record's country as a region code (null: a country we do not know, no padding), else
    `[import] phone_region`."""
    if c not in cols:
        return frame, []
    value = pl.col(c).str.strip_chars()
    width = region.replace_strict(POSTCODE_DIGITS, default=None, return_dtype=pl.Int64)
    short = ((value.str.len_chars() < width) & value.str.contains(r"^\d+$")).fill_null(False)
    frame = frame.with_columns(short.alias("_short"))
    warn = issues(frame.filter("_short"), header=hdr(c), field=c, code="postcode_padded",
                  reason="a postcode written as a number: its leading zeros put back")
    return (frame.with_columns(pl.when("_short").then(value.str.zfill(width))
                               .otherwise(pl.col(c)).alias(c)).drop("_short"), [warn])


IDENTITY = ("company_name", "person_first_name", "person_last_name", "person_middle_name",
            "company_number", "company_code", "company_vat_number", "company_orgnr",
            "company_id", "person_id", "person_number")


def _left_behind(frame: pl.LazyFrame, settings: ImportSettings,
                 hdr: Callable[[str], str]) -> pl.LazyFrame:
    """Values no entity of their row takes (`transforms.roles`): said, not silently lost."""
    found = left_behind(frame, settings)
    headers = {c: hdr(c) for c in frame.collect_schema().names()}
    return found.select(
        "source_row", pl.col("field").replace_strict(headers, default=pl.col("field")).alias("column"),
        "field", "value",
        pl.when(pl.col("field").str.starts_with("person_"))
        .then(pl.lit("the row names a company and no person (no name, no person key): "
                     "this person value is left out"))
        .otherwise(pl.lit("the row names no company (no name, no company key): this company "
                          "value is left out")).alias("reason"),
        pl.lit("no_owner").alias("code"))


def _nameless(frame: pl.LazyFrame) -> pl.LazyFrame:
    """A row must name something: a company, a person, or a way to reach a person."""
    identity = [c for c in frame.collect_schema().names()
                if (f := base_field(c)) is not None and (
                    f.name in IDENTITY or f.multi in ("phone", "email"))]
    anything = pl.any_horizontal([pl.col(c).is_not_null() for c in identity]) if identity else pl.lit(False)
    return issues(frame.filter(~anything), header="(row)", field="(row)", value=pl.lit(None),
                  reason="no company name, person name, email or phone: nothing to import")
