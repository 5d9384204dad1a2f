"""Contact exports (Outlook CSV, Google CSV, vCard, People API) → the canonical contact frame.

Every export is first turned into one long frame of values — `source_row`, `field` (a
canonical field), `value`, `label` (the column or property it came from, for messages),
`block` (which address it belongs to) and `seq` (its order in the record) — and then into
the canonical frame by one set of rules (SPEC §3, contact exports):

- every field of the format is present: a column the file leaves out is empty, never a
  missing key column;
- a contact with an organisation but no person name is a company: its e-mails, phones,
  address and notes are the company's;
- a contact without an organisation keeps what it has as the person's (a business phone
  or web page of a person without a company is the person's);
- an address is taken whole from one block (home before other before business for a
  person; business first for a company), its street lines joined;
- Outlook's empty dates ("0/0/00", "0.0.00") are empty.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from contracts.exports import (
    BIRTH_PARTS,
    GOOGLE_KEYS,
    GOOGLE_SYSTEM_GROUPS,
    OUTLOOK_KEYS,
    OUTLOOK_LEFT_OUT_KEYS,
    OUTLOOK_LEFT_OUT_SKELETONS,
    OUTLOOK_SKELETONS,
    PHONE_LABELS,
    WORK_LABEL,
    lookup,
)
from contracts.fields import FIELDS, Field, base_field, header_key
from transforms.mapping import auto_map, split_full_name
from transforms.roles import ADDRESS_PARTS, COMPANY_TO_PERSON, NAME_FIELDS, PERSON_TO_COMPANY
from transforms.sources.table import RawTable

# address books read record by record or by their export headers (microsoft: Graph, pulled)
CONTACT_SOURCES = ("outlook", "google", "thunderbird", "vcard", "microsoft")
LONG_SCHEMA = pl.Schema({"source_row": pl.Int64, "field": pl.String, "value": pl.String,
               "label": pl.String, "block": pl.String, "seq": pl.Int64})
CONTACT_FIELDS = [f.name for f in FIELDS if f.name not in (
    "company_id", "person_id", "company_erp_key", "company_erp_system", "company_erp_entity",
    "person_erp_key", "person_erp_system", "person_erp_entity")]

EMPTY_DATE = r"^0+[./-]0+[./-]0+$"
GOOGLE_PAIR = re.compile(r"^(?P<kind>.+?) (?P<n>\d+) - (?P<part>.+)$")


def empty_long() -> pl.DataFrame:
    return pl.DataFrame(schema=LONG_SCHEMA)


# --- labels → fields ---------------------------------------------------------------------


def phone_field(label: pl.Expr) -> pl.Expr:
    """The phone field a label names ("Work Fax", "CELL,VOICE", "_$!<Mobile>!$_" …)."""
    text = label.fill_null("").str.to_lowercase()
    expr: Any = pl.when(text.str.contains("fax")).then(
        pl.when(text.str.contains(WORK_LABEL)).then(pl.lit("company_fax"))
        .otherwise(pl.lit("person_fax")))
    for pattern, field in PHONE_LABELS[1:]:
        expr = expr.when(text.str.contains(pattern)).then(pl.lit(field))
    return expr.otherwise(pl.lit("person_phone"))


def url_field(label: pl.Expr) -> pl.Expr:
    text = label.fill_null("").str.to_lowercase()
    return pl.when(text.str.contains(WORK_LABEL)).then(pl.lit("company_url")).otherwise(
        pl.lit("person_url"))


def address_entity(label: pl.Expr) -> pl.Expr:
    """"company" for a work/business address, else "person"."""
    text = label.fill_null("").str.to_lowercase()
    return pl.when(text.str.contains(WORK_LABEL)).then(pl.lit("company")).otherwise(
        pl.lit("person"))


def address_block(label: pl.Expr) -> pl.Expr:
    text = label.fill_null("").str.to_lowercase()
    return (pl.when(text.str.contains(WORK_LABEL)).then(pl.lit("business"))
            .when(text.str.contains(r"home|privat")).then(pl.lit("home"))
            .otherwise(pl.lit("other")))


# --- CSV exports ---------------------------------------------------------------------------


def detect_csv_export(headers: list[str]) -> str | None:
    """"google", "thunderbird" or "outlook" when the header set is one of theirs, else
    None. (Thunderbird's table is read with Outlook's: `contracts.exports`.)"""
    if any(GOOGLE_PAIR.match(h) for h in headers) or "Group Membership" in headers:
        return "google"
    if {"primaryemail", "displayname"} <= {header_key(h) for h in headers}:
        return "thunderbird"
    hits = {h: lookup(h, OUTLOOK_KEYS, OUTLOOK_SKELETONS) for h in headers}
    left_out = [h for h in headers if hits[h] is None
                and lookup(h, OUTLOOK_LEFT_OUT_KEYS, OUTLOOK_LEFT_OUT_SKELETONS) is not None]
    # addresses, phones and e-mail columns are what make a file an address-book export
    telling = [h for h, hit in hits.items() if hit is not None
               and (hit[1] is not None or _multi(hit[0]) in ("phone", "email"))]
    known = sum(hit is not None for hit in hits.values()) + len(left_out)
    if len(telling) >= 2 and known >= 0.5 * len(headers):
        return "outlook"
    return None


def _plain_long(raw: RawTable, table: list[tuple[str, str, str | None, int]]) -> pl.DataFrame:
    """Unpivot the mapped plain columns: one row per filled cell."""
    if not table:
        return empty_long()
    info = pl.DataFrame(table, schema={"label": pl.String, "field": pl.String,
                                       "block": pl.String, "seq": pl.Int64}, orient="row")
    return (raw.frame.unpivot(index="source_row", on=[t[0] for t in table],
                              variable_name="label", value_name="value")
            .drop_nulls("value")
            .join(info, on="label")
            .select(list(LONG_SCHEMA)))


def _override(header: str, overrides: dict[str, str]) -> str | None:
    """The field a mapping file gives a header ("" leaves it out)."""
    target = overrides[header]
    return _field(target).name if target else None


def _field(column: str) -> Field:
    """The field of a canonical column the tables name (always one)."""
    found = base_field(column)
    assert found is not None, column
    return found


def _multi(column: str) -> str | None:
    return _field(column).multi


def outlook_table(headers: list[str], overrides: dict[str, str]
                  ) -> tuple[list[tuple[str, str, str | None, int]], list[str]]:
    """(header, field, address block, order) of the columns taken, and the unmapped ones.

    Outlook's columns by its header table (any UI language); a column Outlook does not
    write (a tool's own extra column) by the general aliases."""
    table: list[tuple[str, str, str | None, int]] = []
    unmapped: list[str] = []
    rest: list[tuple[int, str]] = []
    for i, h in enumerate(headers):
        if h in overrides:
            if (f := _override(h, overrides)) is not None:
                table.append((h, f, None, i * 100))
        elif h in BIRTH_PARTS and all(p in headers for p in BIRTH_PARTS):
            continue  # (read together: `_birth_dates`)
        elif (hit := lookup(h, OUTLOOK_KEYS, OUTLOOK_SKELETONS)) is not None:
            table.append((h, hit[0], hit[1], i * 100))
        elif lookup(h, OUTLOOK_LEFT_OUT_KEYS, OUTLOOK_LEFT_OUT_SKELETONS) is not None:
            unmapped.append(h)
        else:
            rest.append((i, h))
    if rest:
        extra = auto_map([h for _, h in rest])
        table += [(h, _field(extra.columns[h]).name, None, i * 100)
                  for i, h in rest if h in extra.columns]
        unmapped += [h for _, h in rest if h not in extra.columns]
    return table, unmapped


def outlook_long(raw: RawTable, overrides: dict[str, str]) -> tuple[pl.DataFrame, list[str]]:
    table, unmapped = outlook_table(raw.headers, overrides)
    return pl.concat([_plain_long(raw, table), _birth_dates(raw, overrides)]), unmapped


def _birth_dates(raw: RawTable, overrides: dict[str, str]) -> pl.DataFrame:
    """Thunderbird's Birth Year / Birth Month / Birth Day as one ISO date (a year alone, or
    a day without a month, is no date)."""
    if not all(p in raw.headers and p not in overrides for p in BIRTH_PARTS):
        return empty_long()
    y, m, d = (pl.col(p).cast(pl.String).str.strip_chars().cast(pl.Int32, strict=False)
               for p in BIRTH_PARTS)
    date = (pl.concat_str([e.cast(pl.String).str.zfill(n) for e, n in ((y, 4), (m, 2), (d, 2))],
                          separator="-").str.to_date("%Y-%m-%d", strict=False))
    return raw.frame.select(
        "source_row", pl.lit("person_birth_date").alias("field"),
        date.cast(pl.String).alias("value"),
        pl.lit(" / ".join(BIRTH_PARTS)).alias("label"), pl.lit(None, pl.String).alias("block"),
        pl.lit(raw.headers.index(BIRTH_PARTS[0]) * 100, pl.Int64).alias("seq"),
    ).drop_nulls("value").cast(LONG_SCHEMA)


PAIRED_KINDS = ("e-mail", "email", "phone", "address", "organization", "website")
# the parts of Google's "<Kind> N - <part>" columns that are read (`_google_pairs`); the
# others (an address's PO Box and Region, an organisation's Symbol …) are unmapped
READ_PARTS = {"email": ("value",), "phone": ("value",), "website": ("value",),
              "address": ("street", "formatted", "extended address", "city", "postal code",
                          "zip", "country"),
              "organization": ("name", "title", "department")}


def google_table(headers: list[str], overrides: dict[str, str]) -> tuple[Any, ...]:
    """Google's columns: (plain columns as in `outlook_table`, "<Kind> N - <part>" value
    columns, their Type/Label columns, unmapped)."""
    plain: list[tuple[str, str, str | None, int]] = []
    pairs: list[Any] = []
    labels: list[Any] = []
    unmapped: list[str] = []
    for i, h in enumerate(headers):
        m = GOOGLE_PAIR.match(h)
        if h in overrides:
            if (f := _override(h, overrides)) is not None:
                plain.append((h, f, None, i * 100))
        elif m and m["kind"].lower() in PAIRED_KINDS:
            part = m["part"].strip().lower()
            kind = m["kind"].lower().replace("-", "")
            if part in ("type", "label"):
                labels.append((h, kind, int(m["n"]), part, i * 100))
            elif part in READ_PARTS[kind]:
                pairs.append((h, kind, int(m["n"]), part, i * 100))
            else:
                unmapped.append(h)
        elif (f := GOOGLE_KEYS.get(header_key(h))) is not None:
            plain.append((h, f, None, i * 100))
        else:
            unmapped.append(h)
    return plain, pairs, labels, unmapped


def describe_export(raw: RawTable, overrides: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Header (or vCard property) → the field it fills, for `crm-import mapping`."""
    if raw.long is not None:
        taken = raw.long.group_by("label", maintain_order=True).agg(pl.col("field").unique().sort())
        return ({label: " / ".join(fields) for label, fields in taken.iter_rows()},
                list(raw.unmapped))
    if raw.source == "google":
        plain, pairs, labels, unmapped = google_table(raw.headers, overrides)
        by_label = {"email": "person_email", "phone": "a phone field, by its label",
                    "website": "company_url or person_url, by its label",
                    "address": "an address field, by its label (work → company)"}
        columns = {h: f for h, f, *_ in plain}
        for h, kind, _, part, _ in pairs:
            columns[h] = ({"name": "company_name", "title": "person_position",
                           "department": "company_department"}[part]
                          if kind == "organization" else by_label[kind])
        columns.update({h: "(the label of its value)" for h, *_ in labels})
        return columns, unmapped
    table, unmapped = outlook_table(raw.headers, overrides)
    columns = {h: f for h, f, *_ in table}
    if all(p in raw.headers and p not in overrides for p in BIRTH_PARTS):
        columns.update({p: "person_birth_date" for p in BIRTH_PARTS})
    return columns, unmapped


def _split_values(expr: pl.Expr) -> pl.Expr:
    """Google joins several values of one cell with " ::: "."""
    return expr.str.split(" ::: ")


def google_long(raw: RawTable, overrides: dict[str, str]) -> tuple[pl.DataFrame, list[str]]:
    plain, pairs, labels, unmapped = google_table(raw.headers, overrides)
    # "* myContacts ::: Friends": one interest each, Google's own groups left out
    parts = [_plain_long(raw, plain).with_columns(
        pl.when(pl.col("field") == "person_interest").then(_split_values(pl.col("value")))
        .otherwise(pl.concat_list(pl.col("value"))).alias("value"))
        .explode("value")
        .with_columns(pl.col("value").str.strip_prefix("* ").str.strip_chars().replace("", None))
        .filter(~((pl.col("field") == "person_interest")
                  & pl.col("value").str.to_lowercase().is_in(GOOGLE_SYSTEM_GROUPS)))
        .drop_nulls("value")]
    if pairs:
        values = _google_pairs(raw, pairs, labels)
        parts.append(values.drop_nulls("field").rename({"header": "label"})
                     .select(list(LONG_SCHEMA)))
    return pl.concat(parts, how="vertical_relaxed"), unmapped


def _google_pairs(raw: RawTable, pairs: list[Any], labels: list[Any]) -> pl.DataFrame:
    """The "<Kind> N - <part>" columns, a value a row, with their Type/Label, field and
    address block."""
    pair_schema = {"header": pl.String, "kind": pl.String, "n": pl.Int64, "part": pl.String,
                   "seq": pl.Int64}
    pinfo = pl.DataFrame(pairs, schema=pair_schema, orient="row")
    values = (raw.frame.unpivot(index="source_row", on=[p[0] for p in pairs],
                                variable_name="header", value_name="value")
              .drop_nulls("value").join(pinfo, on="header"))
    if labels:
        linfo = pl.DataFrame(labels, schema=pair_schema, orient="row").drop("part", "seq")
        types = (raw.frame.unpivot(index="source_row", on=[p[0] for p in labels],
                                   variable_name="header", value_name="labels")
                 .drop_nulls("labels").join(linfo, on="header").drop("header"))
        values = values.join(types, on=["source_row", "kind", "n"], how="left")
    else:
        values = values.with_columns(pl.lit(None, pl.String).alias("labels"))
    values = (values.with_columns(_split_values(pl.col("value")).alias("value"),
                                  _split_values(pl.col("labels")).alias("labels"))
              .with_columns(pl.int_ranges(pl.col("value").list.len()).alias("i"))
              .explode("value", "i")
              .with_columns(
                  pl.coalesce(pl.col("labels").list.get(pl.col("i"), null_on_oob=True),
                              pl.col("labels").list.first())
                  .str.strip_prefix("* ").str.strip_chars().alias("type"),
                  pl.col("value").str.strip_chars().replace("", None))
              .drop_nulls("value"))
    kind, part, label = pl.col("kind"), pl.col("part"), pl.col("type")
    entity = address_entity(label)
    address_part = (pl.when(part.is_in(["street", "formatted", "extended address"]))
                    .then(pl.lit("street"))
                    .when(part == "city").then(pl.lit("city"))
                    .when(part.is_in(["postal code", "zip"])).then(pl.lit("postcode"))
                    .when(part == "country").then(pl.lit("country")))
    field = (pl.when(kind == "email").then(pl.lit("person_email"))
             .when(kind == "phone").then(phone_field(label))
             .when(kind == "website").then(url_field(label))
             .when((kind == "organization") & (part == "name")).then(pl.lit("company_name"))
             .when((kind == "organization") & (part == "title")).then(pl.lit("person_position"))
             .when((kind == "organization") & (part == "department"))
             .then(pl.lit("company_department"))
             .when(kind == "address").then(entity + pl.lit("_") + address_part))
    values = values.with_columns(
        field.alias("field"),
        pl.when(kind == "address").then(address_block(label) + pl.lit(":")
                                        + pl.col("n").cast(pl.String)
                                        + pl.lit(".") + pl.col("i").cast(pl.String))
        .alias("block"),
        (pl.col("seq") + pl.col("i")).alias("seq"))
    # "Formatted" is the whole address: used only when the block has no street of its own
    streets = values.filter((kind == "address") & (part == "street")).select(
        "source_row", "block").unique()
    formatted_dup = (values.filter(part == "formatted")
                     .join(streets, on=["source_row", "block"], how="semi")
                     .select("source_row", "block", "part"))
    values = values.join(formatted_dup, on=["source_row", "block", "part"], how="anti")
    return values


# --- the shared rules ----------------------------------------------------------------------


def _block_rank(entity: pl.Expr, block: pl.Expr) -> pl.Expr:
    kind = block.fill_null("other").str.split(":").list.first()
    person = pl.when(kind == "home").then(0).when(kind == "other").then(1).otherwise(2)
    company = pl.when(kind == "business").then(0).when(kind == "home").then(1).otherwise(2)
    return pl.when(entity == "company").then(company).otherwise(person)


def apply_rules(long: pl.DataFrame) -> pl.DataFrame:
    """The contact-export rules on the long frame (see the module docstring)."""
    long = (long.with_columns(pl.col("value").str.strip_chars().replace("", None))
            .drop_nulls("value")
            .filter(~((pl.col("field") == "person_birth_date")
                      & pl.col("value").str.contains(EMPTY_DATE))))
    # a display name that only repeats the organisation (Thunderbird: "Acer America" for
    # the company Acer America) names no person
    key = pl.col("value").str.to_lowercase().str.replace_all(r"\s+", " ")
    same = (long.group_by("source_row").agg(
        key.filter(pl.col("field") == "person_full_name").first().alias("_full"),
        key.filter(pl.col("field") == "company_name").first().alias("_org"),
        pl.col("field").is_in(NAME_FIELDS[:3]).any().alias("_parts"))
        .filter((pl.col("_full") == pl.col("_org")) & ~pl.col("_parts")).select("source_row"))
    if same.height:
        long = long.join(same.with_columns(pl.lit("person_full_name").alias("field")),
                         on=["source_row", "field"], how="anti")
    flags = long.group_by("source_row").agg(
        pl.col("field").is_in(NAME_FIELDS).any().alias("_named"),
        (pl.col("field") == "company_name").any().alias("_org"))
    long = long.join(flags, on="source_row")
    to_company = pl.col("field").replace_strict(PERSON_TO_COMPANY, default=None)
    to_person = pl.col("field").replace_strict(COMPANY_TO_PERSON, default=None)
    long = long.with_columns(
        pl.when(pl.col("_org") & ~pl.col("_named") & pl.col("field").str.starts_with("person_"))
        .then(to_company)
        .when(~pl.col("_org") & pl.col("field").str.starts_with("company_")).then(to_person)
        .otherwise(pl.col("field")).alias("field")).drop_nulls("field").drop("_named", "_org")

    # one address per entity, taken whole from its best block
    entity = pl.col("field").str.split("_").list.first()
    is_address = pl.col("field").str.extract(r"^(?:company|person)_(\w+)$").is_in(ADDRESS_PARTS)
    address = (long.filter(is_address)
               .with_columns(entity.alias("_entity"), pl.col("block").fill_null("other"))
               .with_columns(_block_rank(pl.col("_entity"), pl.col("block")).alias("_rank"),
                             pl.col("seq").min().over("source_row", "_entity", "block")
                             .alias("_first")))
    best = (address.sort("_rank", "_first").group_by("source_row", "_entity", maintain_order=True)
            .agg(pl.col("block").first()))
    address = (address.join(best, on=["source_row", "_entity", "block"], how="semi")
               .sort("seq").group_by("source_row", "field", maintain_order=True)
               .agg(pl.col("value").unique(maintain_order=True).str.join(", "),
                    pl.col("label").first(), pl.col("block").first(), pl.col("seq").min()))
    long = pl.concat([long.filter(~is_address), address.select(list(LONG_SCHEMA))],
                     how="vertical_relaxed")
    return long.unique(["source_row", "field", "value"], keep="first", maintain_order=True)


def widen(long: pl.DataFrame, rows: pl.Series) -> tuple[pl.DataFrame, dict[str, str]]:
    """Long values → one row per record, multi-valued fields numbered (person_email_2 …).

    Every contact field is a column; `rows` are all records, values or not."""
    multi = [f.name for f in FIELDS if f.multi]
    long = (long.sort("source_row", "seq")
            .with_columns(pl.int_range(1, pl.len() + 1).over("source_row", "field").alias("_n"))
            .filter(pl.col("field").is_in(multi) | (pl.col("_n") == 1))
            .with_columns(pl.when(pl.col("_n") == 1).then(pl.col("field"))
                          .otherwise(pl.col("field") + "_" + pl.col("_n").cast(pl.String))
                          .alias("_column")))
    labels = dict(long.group_by("_column", maintain_order=True).agg(pl.col("label").first())
                  .iter_rows())
    frame = pl.DataFrame({"source_row": rows.cast(pl.Int64)})
    if long.height:
        wide = long.pivot(on="_column", index="source_row", values="value",
                          aggregate_function="first")
        frame = frame.join(wide, on="source_row", how="left")
    numbered = sorted((c for c in frame.columns if c not in CONTACT_FIELDS and c != "source_row"),
                      key=lambda c: (c.rsplit("_", 1)[0], int(c.rsplit("_", 1)[1])))
    columns = [c for c in CONTACT_FIELDS if c != "person_full_name" or c in frame.columns]
    frame = frame.select(
        "source_row",
        *[pl.col(c) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in columns],
        *numbered)
    return frame, labels


def canonical_contacts(raw: RawTable, overrides: dict[str, str]) -> tuple[pl.DataFrame, dict, list]:
    """(canonical frame, canonical column → label, unmapped columns) of a contact export."""
    if raw.long is not None:
        long, unmapped = raw.long, list(raw.unmapped)
    elif raw.source == "google":
        long, unmapped = google_long(raw, overrides)
    else:
        long, unmapped = outlook_long(raw, overrides)
    frame, labels = widen(apply_rules(long), raw.frame["source_row"])
    if "person_full_name" in frame.columns:
        frame = split_full_name(frame.lazy()).collect()
        for part in ("person_first_name", "person_middle_name", "person_last_name"):
            labels.setdefault(part, labels.get("person_full_name", part))
    return frame, labels, unmapped
