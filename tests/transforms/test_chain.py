"""Ordered match keys (issue 17 §2, SPEC §3 "Ordered match keys"): grouping a file's rows
under a chain, finding CRM records by the first key that finds one, and chunks that keep
the chain's entities whole."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.settings import parse_settings
from tests.transforms.test_plan import rows
from transforms import chunks as ch
from transforms import keys as k
from transforms.match import chain_groups
from transforms.plan import CrmSnapshot, plan_contacts
from transforms.plan.model import KEYS_SCHEMA
from transforms.snapshot import CrmKeys

CHAIN = {"company": {"match": ["orgnr", "name"]}}


def crm_companies(records: list[tuple[int, str | None, str | None]]) -> CrmSnapshot:
    """A CRM of companies (id, name, orgnr), its keys as `read_snapshot` names them."""
    comp = pl.DataFrame(records, schema={"crm_id": pl.Int64, "name": pl.String,
                                         "orgnr": pl.String}, orient="row")
    keys = pl.concat([
        comp.select("crm_id", pl.lit("any").alias("scope"),
                    k.named(key, k.crm_key(key)).alias("key")).drop_nulls("key")
        for key in k.chain("company", ("orgnr", "name"))])
    return replace(CrmSnapshot.empty(), companies=comp, company_keys=keys.cast(KEYS_SCHEMA))


def plan(frame: pl.DataFrame, snapshot: CrmSnapshot, data: dict | None = None):
    return plan_contacts(frame, snapshot, settings=parse_settings(data or CHAIN),
                         headers={}, has_company=True, has_person="person_first_name" in frame)


def outcomes(p) -> list[tuple]:
    """Per source row: (outcome, crm id, the key that found it)."""
    found = dict(zip(p.candidates.filter(pl.col("entity") == "company")["source_row"],
                     p.candidates.filter(pl.col("entity") == "company")["match_key"],
                     strict=True))
    return [(r["outcome"], r["crm_id"], found.get(r["source_row"]))
            for r in p.row_plan.filter(pl.col("entity") == "company").iter_rows(named=True)]


# --- finding CRM records ------------------------------------------------------------------

def test_the_first_key_that_finds_a_record_decides():
    crm = crm_companies([(1, "Acme", "923609016"), (2, "Beta", None), (3, "Acme", None)])
    p = plan(rows({"company_orgnr": ["923 609 016", None, "111"],
                   "company_name": ["Acme", "Beta", "Gamma"]}), crm)
    # row 2: org nr finds Acme (1), though the name "Acme" would find two; row 3: no org
    # nr, the name finds Beta; row 4: its org nr finds nothing, nor its name: new
    assert outcomes(p) == [("unchanged", 1, "orgnr"), ("unchanged", 2, "name"), ("new", None, None)]
    assert p.candidates.filter(pl.col("source_row") == 2)["key_value"].to_list() == ["923609016"]


def test_a_key_that_finds_nothing_falls_through_one_that_finds_several_does_not():
    crm = crm_companies([(1, "Delta", None), (2, "Echo", "555"), (3, "Echo", "555"),
                         (4, "Foxtrot", None)])
    p = plan(rows({"company_orgnr": ["999", "555"], "company_name": ["Delta", "Foxtrot"]}), crm)
    got = p.row_plan.filter(pl.col("entity") == "company").select("outcome", "crm_id", "reason")
    # org nr 999 finds nothing: the name finds Delta. Org nr 555 finds two: ambiguous, even
    # though the name would find one
    assert got.rows() == [("updated", 1, None),  # (its empty org nr takes 999)
                          ("ambiguous", None, "matches several CRM records: 2, 3")]


def test_a_single_key_is_a_chain_of_one():
    crm = crm_companies([(1, "Acme", "923609016")])
    frame = rows({"company_orgnr": ["923609016"], "company_name": ["Other name"]})
    assert outcomes(plan(frame, crm, {"company": {"match": "orgnr"}})) == [
        ("unchanged", 1, "orgnr")]
    assert outcomes(plan(frame, crm, {"company": {"match": "name"}})) == [("new", None, None)]


def test_person_chain_email_then_mobile_then_name():
    snap = crm_companies([])
    person_keys = pl.DataFrame(  # (named keys, as the snapshot reads them)
        {"crm_id": [7, 8, 9], "scope": ["any", "any", "none"],
         "key": ["email\x1fann@x.no", "mobile\x1f+4791234567", "name\x1fper berg"]})
    snap = replace(snap, person_keys=person_keys.cast(KEYS_SCHEMA),
                   persons=pl.DataFrame({"crm_id": [7, 8, 9], "company_id": [None] * 3},
                                        schema={"crm_id": pl.Int64, "company_id": pl.Int64}))
    frame = rows({"person_first_name": ["Ann", "Bo", "Per", "Per"],
                  "person_last_name": ["Berg", "Lie", "Berg", "Berg"],
                  "person_email": ["ann@x.no", None, None, "per@x.no"],
                  "person_mobile": [None, "+47 912 34 567", None, None]})
    frame = frame.with_columns(pl.col("person_mobile").str.replace_all(" ", "")
                               .alias("person_mobile__key"))
    p = plan_contacts(frame, snap, settings=parse_settings(
        {"person": {"match": ["email", "mobile", "name"], "if_no_company": "without_company"}}),
        headers={}, has_company=False, has_person=True)
    got = (p.row_plan.filter(pl.col("entity") == "person")
           .join(p.candidates.select("source_row", "match_key"), on="source_row", how="left")
           .sort("source_row").select("source_row", "crm_id", "match_key"))
    # rows 4 and 5 are one person (the name, the first key both have, agrees; row 5's
    # e-mail finds no one): found by name
    assert got.rows() == [(2, 7, "email"), (3, 8, "mobile"), (4, 9, "name"), (5, 9, "name")]


# --- grouping rows --------------------------------------------------------------------------

def _groups(orgnr: list, name: list) -> list[int]:
    """Rows numbered by their entity (first row of it first)."""
    frame = pl.DataFrame({"a": [None if v is None else f"orgnr\x1f{v}" for v in orgnr],
                          "b": [None if v is None else f"name\x1f{v}" for v in name]},
                         schema={"a": pl.String, "b": pl.String})
    got = chain_groups(frame, ["a", "b"]).to_list()
    seen: dict = {}
    return [seen.setdefault(g, len(seen)) if g is not None else -1 for g in got]


@pytest.mark.parametrize(("orgnr", "name", "entities"), [
    # the first key both have agrees: one entity
    ([1, 1], ["X", "Y"], [0, 0]),
    # a higher-priority key that disagrees keeps them apart, whatever the name
    ([1, 2], ["X", "X"], [0, 1]),
    # a row without org nr joins the one entity that has its name …
    ([1, None, 2], ["X", "X", "Y"], [0, 0, 1]),
    # … and stays its own when two entities have it (the file cannot say which)
    ([1, 2, None, None], ["X", "X", "X", "X"], [0, 1, 2, 2]),
    # no org nr at all: by name
    ([None, None, None], ["X", "x2", "X"], [0, 1, 0]),
    ([None, 3], [None, None], [-1, 0]),
])
def test_grouping_table(orgnr, name, entities):
    assert _groups(orgnr, name) == entities


values = st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 3)),
                            st.one_of(st.none(), st.sampled_from("XYZ"))), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(values, st.randoms())
def test_grouping_is_a_partition_that_ignores_row_order(data, random):
    """Deterministic and transitive: the same rows in any order are grouped alike, and rows
    that share the chain's first key are together, rows whose first keys differ apart."""
    order = list(range(len(data)))
    random.shuffle(order)
    first = _groups([d[0] for d in data], [d[1] for d in data])
    shuffled = _groups([data[i][0] for i in order], [data[i][1] for i in order])
    pairs = {(i, j) for i in range(len(data)) for j in range(len(data)) if first[i] == first[j]}
    assert pairs == {(order[i], order[j]) for i in range(len(data)) for j in range(len(data))
                     if shuffled[i] == shuffled[j]}
    for i, (a, x) in enumerate(data):
        for j, (b, y) in enumerate(data):
            if a is not None and b is not None:
                assert (first[i] == first[j]) == (a == b)
            if a is None and b is None and x is not None and x == y:
                assert first[i] == first[j]


# --- chunks keep the chain's entities whole ------------------------------------------------

def _partition(p) -> set[frozenset]:
    out = set()
    for entity in (p.company, p.person):
        for members in entity.rows.group_by("group").agg("source_row")["source_row"]:
            out.add(frozenset(members))
    return out


people = st.lists(st.tuples(
    st.one_of(st.none(), st.sampled_from(["1", "2", "3"])),  # org nr
    st.one_of(st.none(), st.sampled_from(["Acme", "ACME ", "Beta"])),  # company name
    st.one_of(st.none(), st.sampled_from(["Ann", "Bo"])),  # first name
    st.one_of(st.none(), st.sampled_from(["a@x.no", "b@x.no"]))), min_size=1, max_size=14)


@settings(max_examples=120, deadline=None)
@given(people, st.integers(1, 4))
def test_chunks_plan_what_the_whole_file_plans(data, size):
    """Planned chunk by chunk, a file under chains gives the entities the whole plan gives
    (the property behind `flows.chunked`)."""
    frame = rows({"company_orgnr": [d[0] for d in data], "company_name": [d[1] for d in data],
                  "person_first_name": [d[2] for d in data],
                  "person_last_name": [None if d[2] is None else "Berg" for d in data],
                  "person_email": [d[3] for d in data]})
    cfg = {"company": {"match": ["orgnr", "name"]},
           "person": {"match": ["email", "name"], "if_no_company": "without_company"}}
    s = parse_settings(cfg)
    frame = frame.filter(pl.any_horizontal(pl.all().exclude("source_row").is_not_null()))
    if frame.height == 0:
        return
    whole = plan(frame, CrmSnapshot.empty(), cfg)
    keys = ch.tie_keys(frame, s)
    crm = CrmKeys(pl.DataFrame(schema=KEYS_SCHEMA), pl.DataFrame(schema=KEYS_SCHEMA))
    chunk_of = ch.assign_chunks(ch.components(*ch.ties(keys.lazy(), crm, s)), size)
    parts: set[frozenset] = set()
    counts = {"company": 0, "person": 0}
    for (_,), piece in frame.join(chunk_of, on="source_row").partition_by(
            "chunk", as_dict=True).items():
        p = plan(piece.drop("chunk").sort("source_row"), CrmSnapshot.empty(), cfg)
        parts |= _partition(p)
        for e in counts:
            counts[e] += p.entities[e].counts()["new"]
    assert parts == _partition(whole)
    assert counts == {e: whole.entities[e].counts()["new"] for e in counts}
