"""Header → canonical field mapping, the mapping file, and the full-name split."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from contracts.errors import MappingInvalid, read_toml
from contracts.fields import ALIASES, FIELDS_BY_NAME, GENERIC_ALIASES, header_key
from transforms import normalise as nz

IGNORE = ""  # a mapping file maps a header to "" to leave it out on purpose
PERSON_NAME_FIELDS = ("person_first_name", "person_last_name", "person_full_name")


@dataclass(frozen=True)
class ColumnMapping:
    columns: dict[str, str]  # source header → canonical column (person_email_2 …)
    unmapped: list[str] = field(default_factory=list)  # headers nobody claimed
    ignored: list[str] = field(default_factory=list)  # headers the mapping file left out
    built: dict[str, str] = field(default_factory=dict)  # field → "{Header}-{Other}" template

    def fields(self) -> set[str]:
        """Canonical field names present (numbered multi-valued columns folded)."""
        return {FIELDS_BY_NAME[_base(c)].name for c in (*self.columns.values(), *self.built)}

    def has_entity(self, entity: str) -> bool:
        return any(f.startswith(entity + "_") for f in self.fields())


def _base(column: str) -> str:
    head, _, tail = column.rpartition("_")
    return head if tail.isdigit() and head in FIELDS_BY_NAME else column


@dataclass(frozen=True)
class MappingFile:
    columns: dict[str, str] = field(default_factory=dict)  # header → field ("" leaves it out)
    build: dict[str, str] = field(default_factory=dict)  # field → template of {Header} parts


def read_mapping_file(path: str | Path | None) -> MappingFile:
    """A mapping TOML: `[columns]` "Header" = "field", and `[build]` field = "{A}-{B}"
    for a field made from several columns (or text around one)."""
    if path is None:
        return MappingFile()
    p = Path(path)
    data = read_toml(p, lambda problem: MappingInvalid(str(p), problem))
    columns, build = data.get("columns", {}), data.get("build", {})
    if not isinstance(columns, dict) or not isinstance(build, dict) or set(data) - {"columns", "build"} \
            or not data:
        raise MappingInvalid(str(p), "expected a [columns] table of \"Header\" = \"field\" "
                             "(and optionally [build] field = \"{Header} …\")",
                             hint="write one with `crm-import mapping FILE -o M.toml`")
    taken: dict[str, str] = {}  # field → the column that fills it
    for header, target in columns.items():
        if not isinstance(target, str) or (target != IGNORE and _base(target) not in FIELDS_BY_NAME):
            raise MappingInvalid(str(p), f"column {header!r}: unknown field {target!r}",
                                 hint="fields: " + ", ".join(FIELDS_BY_NAME))
        if target in taken and FIELDS_BY_NAME[_base(target)].multi is None:
            # one value per record: the second column would be dropped, or merge people
            raise MappingInvalid(str(p), f"columns {taken[target]!r} and {header!r} both map "
                                 f"to {target!r}, which holds one value",
                                 hint="map one of them to another field, or leave it out "
                                      "with \"\"")
        if target != IGNORE:
            taken.setdefault(target, header)
    for target, template in build.items():
        if _base(target) not in FIELDS_BY_NAME:
            raise MappingInvalid(str(p), f"[build] {target!r}: unknown field",
                                 hint="fields: " + ", ".join(FIELDS_BY_NAME))
        if target in taken:
            raise MappingInvalid(str(p), f"[build] {target!r}: column {taken[target]!r} maps "
                                 "to that field too", hint="keep one of the two")
        if not isinstance(template, str) or not re.search(r"\{[^{}]+\}", template):
            raise MappingInvalid(str(p), f"[build] {target!r}: expected a text with {{Header}} parts")
    return MappingFile(columns, build)


def load_mapping_file(path: str | Path | None) -> dict[str, str]:
    """`[columns]` of a mapping file: header → field name ("" leaves a column out)."""
    return read_mapping_file(path).columns


def auto_map(headers: list[str], overrides: dict[str, str] | None = None, *,
             build: dict[str, str] | None = None,
             aliases: dict[str, str] = ALIASES,
             generic_aliases: Mapping[str, tuple[str, str, str]] = GENERIC_ALIASES) -> ColumnMapping:
    """Map headers by alias; `overrides` (from a mapping file) win.

    A generic header ("Phone", "City") goes to the person when the file names persons and
    the company fields when it names a company, by the alias's preference when it has both.
    """
    overrides = overrides or {}
    chosen: dict[str, str] = {}
    ignored = [h for h in headers if overrides.get(h) == IGNORE]
    generic: list[str] = []
    for h in headers:
        if h in overrides:
            if overrides[h] != IGNORE:
                chosen[h] = overrides[h]
        elif (key := header_key(h)) in aliases:
            chosen[h] = aliases[key]
        elif _strip_number(key) in aliases and FIELDS_BY_NAME[aliases[_strip_number(key)]].multi:
            chosen[h] = aliases[_strip_number(key)]  # "E-mail 2", "Phone 3"
        elif key in generic_aliases or _strip_number(key) in generic_aliases:
            generic.append(h)
    has_person = any(chosen.get(h) in PERSON_NAME_FIELDS for h in headers)
    has_company = any(chosen.get(h) == "company_name" for h in headers)
    for h in generic:
        key = header_key(h)
        company_field, person_field, prefer = (generic_aliases.get(key)
                                               or generic_aliases[_strip_number(key)])
        if has_person and has_company:
            chosen[h] = person_field if prefer == "person" else company_field
        else:
            chosen[h] = company_field if has_company else person_field

    # A single-valued field claimed twice keeps its first column; multi-valued ones number up.
    columns: dict[str, str] = {}
    counts: dict[str, int] = {}
    unmapped: list[str] = []
    for h in headers:
        target = chosen.get(h)
        if target is None:
            if h not in ignored:
                unmapped.append(h)
            continue
        base = _base(target)
        counts[base] = counts.get(base, 0) + 1
        if counts[base] == 1:
            columns[h] = base
        elif FIELDS_BY_NAME[base].multi:
            columns[h] = f"{base}_{counts[base]}"
        else:
            unmapped.append(h)
    for target, template in (build or {}).items():
        missing = [h for h in re.findall(r"\{([^{}]+)\}", template) if h not in headers]
        if missing:
            raise MappingInvalid("mapping", f"[build] {target!r} names columns the file lacks: "
                                 + ", ".join(missing), hint="headers: " + ", ".join(headers[:12]))
    return ColumnMapping(columns, unmapped, ignored, dict(build or {}))


def _strip_number(key: str) -> str:
    """"email2address" → "emailaddress", "phone3" → "phone"."""
    return re.sub(r"\d+", "", key)


def apply_mapping(raw: pl.LazyFrame, mapping: ColumnMapping) -> pl.LazyFrame:
    """Canonical frame: source_row + the mapped columns under their field names."""
    frame = raw.select(
        pl.col("source_row"),
        *[pl.col(h).alias(c) for h, c in mapping.columns.items()],
        *[built_column(t).alias(f) for f, t in mapping.built.items()],
    )
    if "person_full_name" in mapping.columns.values():
        frame = split_full_name(frame)
    return frame


def built_column(template: str) -> pl.Expr:
    """"{uom} ({currency})" → that text per row; null when every column in it is empty."""
    parts = re.split(r"(\{[^{}]+\})", template)
    refs = [p[1:-1] for p in parts if p.startswith("{") and p.endswith("}")]
    pieces = [pl.col(p[1:-1]).fill_null("") if p.startswith("{") and p.endswith("}") else pl.lit(p)
              for p in parts if p]
    anything = pl.any_horizontal([pl.col(r).is_not_null() for r in refs])
    text = pl.concat_str(pieces).str.replace_all(nz.FOLD_SPACE, " ").str.strip_chars()
    return pl.when(anything).then(text)


def split_full_name(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Fill first / middle / last name from `person_full_name` where they are empty.

    "Last, First Middle" is read as written; otherwise the last word is the last name.
    """
    names = frame.collect_schema().names()
    full = pl.col("person_full_name").str.replace_all(nz.FOLD_SPACE, " ").str.strip_chars()
    comma = full.str.contains(",", literal=True)
    before, after = (full.str.split_exact(",", 1).struct.field(f).str.strip_chars()
                     for f in ("field_0", "field_1"))
    given = pl.when(comma).then(after).otherwise(full)  # words holding first (+ middle) names
    words = given.str.split(" ")
    n = words.list.len()
    first = words.list.first()
    if_comma_last = before
    last = pl.when(comma).then(if_comma_last).when(n > 1).then(words.list.last()).otherwise(None)
    middle_comma = pl.when(n > 1).then(words.list.slice(1).list.join(" ")).otherwise(None)
    middle_plain = pl.when(n > 2).then(words.list.slice(1, n - 2).list.join(" ")).otherwise(None)
    middle = pl.when(comma).then(middle_comma).otherwise(middle_plain)

    def fill(name: str, expr: pl.Expr) -> pl.Expr:
        value = expr.replace("", None)
        return (pl.coalesce(pl.col(name), value) if name in names else value).alias(name)

    has_parts = pl.lit(False)
    for part in ("person_first_name", "person_last_name"):
        if part in names:
            has_parts = has_parts | pl.col(part).is_not_null()
    split = [fill("person_first_name", first), fill("person_middle_name", middle),
             fill("person_last_name", last)]
    # only rows without first/last name of their own are split
    return frame.with_columns(
        [pl.when(has_parts).then(pl.col(e.meta.output_name()) if e.meta.output_name() in names
                                 else pl.lit(None, pl.String)).otherwise(e)
         .alias(e.meta.output_name()) for e in split]
    ).drop("person_full_name")
