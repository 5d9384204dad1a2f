"""API records (People API persons, Graph contacts) → the table: each record as the
vCard-like properties `transforms.sources.vcard.classify` knows, so kinds of phones,
addresses and organisations follow the vCard rules whichever service sent them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from contracts.errors import SourceUnreadable
from transforms.sources.table import RawTable
from transforms.sources.vcard import PROPS_SCHEMA, _display, classify

# a record → its (property, types, value) triples and the names of what was left out
Props = Callable[[dict[str, Any]], tuple[list[tuple[str, str, str]], set[str]]]


def records_table(records: list[Any], name: str, props: Props, *, source: str, fmt: str,
                  shape: str) -> RawTable:
    """`shape`: what a record is, for errors ("the People API", "Graph")."""
    rows: list[tuple[int, int, str, str, str, str]] = []
    left_out: set[str] = set()
    for card, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise SourceUnreadable(name, f"entry {card} is not an object as {shape} writes it")
        try:
            found, skipped = props(record)
        except (ValueError, TypeError, AttributeError, KeyError):  # a field of another shape
            raise SourceUnreadable(name, f"entry {card}: a field is not shaped as {shape} "
                                   "writes it") from None
        left_out |= skipped
        rows.extend((card, seq, "", prop, kind.lower(), value)
                    for seq, (prop, kind, value) in enumerate(found, start=1))
    frame = pl.DataFrame(rows, schema=PROPS_SCHEMA, orient="row")
    long, _ = classify(frame)
    display = _display(frame, len(records))
    return RawTable(display, [c for c in display.columns if c != "source_row"], source,
                    path=name, encoding="utf-8", long=long, unmapped=tuple(sorted(left_out)),
                    format=fmt)
