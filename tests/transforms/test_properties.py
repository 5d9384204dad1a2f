"""Invariants of the policy, over generated CRM records and import cells (Hypothesis)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_import, seed, snapshot, table, write_csv

FIELDS = {"Address": "street", "Postcode": "postcode", "City": "city", "VAT": "vat_number",
          "Code": "code", "Notes": "notes"}
cell = st.one_of(st.just(""), st.text(alphabet="abcæøå 019-", min_size=1, max_size=8))
crm_value = st.one_of(st.none(), st.just(""), st.text(alphabet="xyzÆØÅ 27", min_size=1, max_size=8))
record = st.fixed_dictionaries({c: crm_value for c in FIELDS.values()})
cells = st.fixed_dictionaries({h: cell for h in FIELDS})
PROPS = settings(max_examples=25, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _import(crm: dict, imported: dict, action: str, **kw):
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "crm.duckdb"
        seed(db, companies=[{"company_id": 1, "name": "ACME", **crm}])
        f = write_csv(Path(tmp) / "in.csv", ["Company", *FIELDS], [["ACME", *(imported[h] for h in FIELDS)]])
        before = table(db, "SELECT * FROM company WHERE company_id = 1").row(0, named=True)
        snap = snapshot(db)
        s = run_import(f, db, {"company": {"action": action}, "person": {"match": "none"}}, **kw)
        after = table(db, "SELECT * FROM company WHERE company_id = 1").row(0, named=True)
        return s, before, after, snap, snapshot(db)


def _filled(v) -> bool:
    return v is not None and str(v).strip() != ""


def _stored(col: str, value: str) -> str:
    """An import value as the CRM stores it: a postcode of digits shorter than Norway's four
    (phone_region NO, no country given) gets its leading zeros back (issue 17 §4)."""
    value = value.strip()
    return value.zfill(4) if col == "postcode" and value.isdigit() and len(value) < 4 else value


@PROPS
@given(crm=record, imported=cells)
def test_merge_never_changes_a_filled_crm_field(crm, imported):
    s, before, after, _, _ = _import(crm, imported, "merge")
    assert s["status"] == "completed"
    for col in FIELDS.values():
        if _filled(before[col]):
            assert after[col] == before[col]
        elif imported[_header(col)].strip():
            assert after[col] == _stored(col, imported[_header(col)])


@PROPS
@given(crm=record, imported=cells)
def test_replace_never_blanks_a_field(crm, imported):
    _, before, after, _, _ = _import(crm, imported, "replace")
    for col in FIELDS.values():
        if _filled(before[col]):
            assert _filled(after[col])
        value = _stored(col, imported[_header(col)])
        assert after[col] == (value if value else before[col])


@PROPS
@given(crm=record, imported=cells)
def test_skip_never_changes_a_matched_record(crm, imported):
    s, _, _, snap_before, snap_after = _import(crm, imported, "skip")
    assert s["company"]["skipped"] == 1
    assert snap_after == snap_before


@PROPS
@given(crm=record, imported=cells, action=st.sampled_from(["merge", "replace", "skip", "add"]))
def test_dry_run_never_changes_a_crm_table(crm, imported, action):
    s, _, _, snap_before, snap_after = _import(crm, imported, action, dry_run=True)
    assert s["status"] == "preview"
    assert snap_after == snap_before


def _header(column: str) -> str:
    return next(h for h, c in FIELDS.items() if c == column)


@given(st.lists(st.tuples(st.sampled_from(["company", "person"]),
                          st.one_of(st.none(), st.sampled_from(["g1", "g2", "g3"])),
                          st.sampled_from(["phone", "email"])), max_size=40))
@settings(max_examples=200, deadline=None)
def test_position_in_run_counts_each_key_in_frame_order(rows):
    """The rank of a new value among its owner's new values: 1, 2, 3 … per key (null a key
    like any other), in the order of the frame."""
    import polars as pl

    from transforms.plan import position_in_run

    frame = pl.DataFrame(rows, schema=["owner_kind", "group", "table"], orient="row")
    got = frame.select(position_in_run(["owner_kind", "group", "table"]).alias("n"))["n"]
    seen: dict[tuple, int] = {}
    expected = []
    for r in rows:
        seen[r] = seen.get(r, 0) + 1
        expected.append(seen[r])
    assert got.to_list() == expected
