"""Connected components and chunks (`transforms.chunks`)."""

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.chunks import assign_chunks, components


def _per_row(c, p):
    return pl.DataFrame({"source_row": list(range(2, 2 + len(c))), "c": c, "p": p},
                        schema={"source_row": pl.Int64, "c": pl.UInt64, "p": pl.UInt64})


def test_ties_chain_through_companies_persons_and_crm_records():
    # rows 2..9: 2-5 by company 1, 5-8 by person 7 (a chain: 2 … 8), 9 alone;
    # rows 10 and 11 alone by their keys, tied only by finding one CRM person
    per_row = _per_row([1, 1, 1, 1, None, None, None, None, 3, 4],
                       [None, None, None, 7, 7, 7, 7, None, 8, 9])
    extra = pl.DataFrame({"source_row": [10, 11], "tie": [99, 99]},
                         schema={"source_row": pl.Int64, "tie": pl.UInt64})
    comp = components(per_row, extra).sort("source_row")
    assert comp["comp"].to_list() == [2, 2, 2, 2, 2, 2, 2, 9, 10, 10]


def test_a_long_chain_settles():
    # row i ties to row i+1 alternately by company and by person: one component
    n = 2000
    c = [i // 2 for i in range(n)]
    p = [(i + 1) // 2 + 10_000 for i in range(n)]
    comp = components(_per_row(c, p), pl.DataFrame(schema={"source_row": pl.Int64,
                                                          "tie": pl.UInt64}))
    assert comp["comp"].unique().to_list() == [2]


def test_chunks_hold_whole_components_in_row_order():
    comp = pl.DataFrame({"source_row": [2, 3, 4, 5, 6, 7, 8],
                         "comp": [2, 3, 2, 5, 3, 7, 7]})
    chunks = dict(assign_chunks(comp, 3).iter_rows())
    # components {2,4} {3,6} {5} {7,8}: sizes 2, 2, 1, 2 → [2,4,3,6] [5,7,8]
    assert {r for r, k in chunks.items() if k == 0} == {2, 3, 4, 6}
    assert {r for r, k in chunks.items() if k == 1} == {5, 7, 8}
    big = assign_chunks(pl.DataFrame({"source_row": [2, 3, 4], "comp": [2, 2, 2]}), 1)
    assert big["chunk"].unique().to_list() == [0]  # a component larger than a chunk: whole


@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 6)),
                          st.one_of(st.none(), st.integers(0, 6))), min_size=1, max_size=40),
       st.lists(st.tuples(st.integers(0, 39), st.integers(0, 3)), max_size=8))
@settings(max_examples=300, deadline=None)
def test_components_are_those_of_a_union_find(pairs, crm_ties):
    """Any rows tied by company, person or CRM tie, through any chain, share the smallest
    row of their component (checked against a plain union-find)."""
    c, p = [x for x, _ in pairs], [y for _, y in pairs]
    rows = list(range(2, 2 + len(pairs)))
    extra_rows = [(rows[i % len(rows)], t) for i, t in crm_ties]
    parent = {r: r for r in rows}

    def find(r):
        while parent[r] != r:
            r = parent[r]
        return r

    def union(a, b):
        a, b = find(a), find(b)
        parent[max(a, b)] = min(a, b)

    for key in (c, p):
        first = {}
        for r, k in zip(rows, key, strict=True):
            if k is not None:
                union(first.setdefault(k, r), r)
    first = {}
    for r, t in extra_rows:
        union(first.setdefault(t, r), r)
    extra = pl.DataFrame(extra_rows, schema={"source_row": pl.Int64, "tie": pl.UInt64},
                         orient="row")
    got = dict(components(_per_row(c, p), extra).iter_rows())
    assert got == {r: find(r) for r in rows}
