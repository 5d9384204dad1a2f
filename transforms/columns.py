"""The file's columns as canonical fields: a raw table (or ERP actors) mapped, with the
rows the user excluded and the records the reader could not take apart left out."""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from contracts.errors import NoMappedColumns
from contracts.fields import PRODUCT_ALIASES
from transforms.erp import ErpActors
from transforms.mapping import apply_mapping, auto_map, read_mapping_file
from transforms.products import require_columns
from transforms.sources.contacts import CONTACT_SOURCES, canonical_contacts
from transforms.sources.table import RawTable


@dataclass(frozen=True)
class Mapped:
    canonical: pl.DataFrame
    headers: dict[str, str]  # canonical column → header in the file
    unmapped: list[str]
    has_company: bool
    has_person: bool
    absent: tuple[str, ...] = ()  # columns the mapping file names that the file lacks


def mapping_summary(mapped: Mapped, headers: list[str]) -> dict[str, object]:
    """The summary's `mapping`: which column fills which field, the columns left unmapped,
    and (only when there are some) the mapping file's columns the file lacks."""
    out: dict[str, object] = {"columns": {mapped.headers[c]: c for c in mapped.headers
                                          if mapped.headers[c] in headers},
                              "unmapped": mapped.unmapped}
    if mapped.absent:
        out["absent"] = list(mapped.absent)
    return out


def map_columns(raw: RawTable, mapping_file: str | None, exclude_rows: tuple[int, ...],
                kind: str = "contacts") -> Mapped:
    mf = read_mapping_file(mapping_file)
    absent = tuple(h for h in mf.columns if h not in raw.headers)
    if kind == "contacts" and raw.source in CONTACT_SOURCES:
        # an address-book export: its own header table / properties, and the export rules
        canonical, labels, unmapped = canonical_contacts(raw, mf.columns)
        return leave_out(Mapped(canonical, labels, unmapped, True, True, absent), raw,
                         exclude_rows)
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
    return leave_out(Mapped(lazy.collect(), headers, mapping.unmapped,
                             mapping.has_entity("company"), mapping.has_entity("person"),
                             absent), raw, exclude_rows)


def leave_out(mapped: Mapped, raw: RawTable, exclude_rows: tuple[int, ...]) -> Mapped:
    """Rows the user excluded, and records the reader could not take apart (they go to the
    rejects instead), do not reach the plan."""
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
