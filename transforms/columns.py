"""The file's columns as canonical fields: a raw table (or ERP actors) mapped, with the
rows the user excluded and the records the reader could not take apart left out."""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from contracts.errors import NoMappedColumns
from contracts.fields import FIELDS_BY_NAME, PRODUCT_ALIASES, base_field
from contracts.settings import ImportSettings
from transforms.erp import ErpActors
from transforms.mapping import apply_mapping, auto_map, read_mapping_file
from transforms.products import require_columns
from transforms.roles import assign_roles
from transforms.sources.contacts import CONTACT_SOURCES, canonical_contacts, describe_export
from transforms.sources.table import RawTable


@dataclass(frozen=True)
class Mapped:
    canonical: pl.DataFrame
    headers: dict[str, str]  # canonical column → header in the file
    unmapped: list[str]
    has_company: bool
    has_person: bool
    absent: tuple[str, ...] = ()  # columns the mapping file names that the file lacks
    # an address-book export: header → field as `crm-import mapping` says it (its values go
    # to fields by their labels, row by row)
    described: dict[str, str] | None = None
    left_out: dict[str, int] | None = None  # field → values past MAX_VALUES (see cap_values)


MAX_VALUES = 50  # values of one multi-valued field a record keeps (e-mails, phones, …)


def cap_values(mapped: Mapped) -> Mapped:
    """A record keeps the first MAX_VALUES values of a multi-valued field; the rest are
    counted (a warning), not carried: a card with a thousand EMAIL lines, or a sheet with
    hundreds of e-mail columns, costs what fifty do."""
    def index(column: str) -> int:
        tail = column.rpartition("_")[2]
        return int(tail) if tail.isdigit() and column not in FIELDS_BY_NAME else 1

    over: dict[str, list[str]] = {}
    for c in mapped.canonical.columns:
        f = base_field(c)
        if f is not None and f.multi is not None and index(c) > MAX_VALUES:
            over.setdefault(f.name, []).append(c)
    if not over:
        return mapped
    counts = mapped.canonical.select(
        pl.sum_horizontal(pl.col(cols).is_not_null()).sum().alias(f) for f, cols in over.items())
    gone = [c for cols in over.values() for c in cols]
    return replace(mapped, canonical=mapped.canonical.drop(gone),
                   headers={k: v for k, v in mapped.headers.items() if k not in gone},
                   left_out={f: int(n) for f, n in counts.row(0, named=True).items() if n})


def mapping_summary(mapped: Mapped, headers: list[str]) -> dict[str, object]:
    """The summary's `mapping`: which column fills which field, the columns left unmapped,
    and (only when there are some) the mapping file's columns the file lacks."""
    columns: dict[str, str] = {}
    if mapped.described is not None:
        columns = {h: f for h, f in mapped.described.items() if h in headers}
    else:  # (a header's first field: the one it maps to; later ones are what a name is
        # split into, or where a row's values went, `transforms.roles`)
        for c, h in mapped.headers.items():
            if h in headers:
                columns.setdefault(h, c)
    out: dict[str, object] = {"columns": columns, "unmapped": mapped.unmapped}
    if mapped.absent:
        out["absent"] = list(mapped.absent)
    if mapped.left_out:
        out["left_out"] = dict(mapped.left_out)
    return out


def map_columns(raw: RawTable, mapping_file: str | None, exclude_rows: tuple[int, ...],
                kind: str = "contacts", settings: ImportSettings | None = None) -> Mapped:
    """The file's columns as canonical fields; for contacts, each row's values given to the
    entity they belong to (`transforms.roles`: `settings` says which keys name a person)."""
    mf = read_mapping_file(mapping_file)
    absent = tuple(h for h in mf.columns if h not in raw.headers)
    settings = settings or ImportSettings()
    if kind == "contacts" and raw.source in CONTACT_SOURCES:
        # an address-book export: its own header table / properties, and the export rules
        canonical, labels, _ = canonical_contacts(raw, mf.columns)
        canonical, labels = assign_roles(canonical, labels, settings)
        # (what `crm-import mapping` says of each column, the run says too)
        described, unmapped = describe_export(raw, mf.columns)
        return leave_out(Mapped(canonical, labels, unmapped, True, True, absent, described),
                         raw, exclude_rows)
    if kind == "products":
        mapping = auto_map(raw.headers, mf.columns, build=mf.build, aliases=PRODUCT_ALIASES,
                           generic_aliases={})
    else:
        mapping = auto_map(raw.headers, mf.columns, build=mf.build)
    if not mapping.columns and not mapping.built:
        raise NoMappedColumns(raw.path, raw.headers)
    if kind == "products":
        require_columns(mapping.fields(), path=raw.path, headers=raw.headers)
    lazy = apply_mapping(raw.frame.lazy(), mapping)
    headers = {c: h for h, c in mapping.columns.items()} | {f: t for f, t in mapping.built.items()}
    if "person_full_name" in headers:  # split into these
        for part in ("person_first_name", "person_middle_name", "person_last_name"):
            headers.setdefault(part, headers["person_full_name"])
    canonical = lazy.collect()
    if kind == "contacts":
        canonical, headers = assign_roles(canonical, headers, settings)
    return leave_out(Mapped(canonical, headers, mapping.unmapped,
                             mapping.has_entity("company"), mapping.has_entity("person"),
                             absent), raw, exclude_rows)


def leave_out(mapped: Mapped, raw: RawTable, exclude_rows: tuple[int, ...]) -> Mapped:
    """Rows the user excluded, and records the reader could not take apart (they go to the
    rejects instead), do not reach the plan."""
    mapped = cap_values(mapped)
    out = list(exclude_rows)
    if raw.row_issues is not None:
        out += raw.row_issues["source_row"].to_list()
    if not out:
        return mapped
    return replace(mapped, canonical=mapped.canonical.filter(~pl.col("source_row").is_in(out)))


def map_actors(actors: ErpActors, exclude_rows: tuple[int, ...]) -> Mapped:
    """ERP actors come mapped by their profile."""
    has_company = any(c.startswith("company_") for c in actors.canonical.columns)
    return leave_out(Mapped(actors.canonical, actors.labels, [], has_company, True),
                      actors.raw, exclude_rows)
