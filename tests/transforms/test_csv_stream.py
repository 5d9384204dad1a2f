"""The streamed CSV reader gives the same table as the whole-file reader, batch by batch."""

from pathlib import Path

import polars as pl
import pytest

from transforms.sources.csv_stream import count_lines, open_csv_stream
from transforms.sources.spreadsheet import read_csv

FIXTURES = Path(__file__).parents[2].parent / "shared" / "fixtures"
CSVS = sorted(p for p in FIXTURES.rglob("*.csv"))
# files in an encoding a reader cannot tell from the bytes (read off the files: Japanese
# Shift-JIS exports); the user names it with --encoding
ENCODINGS = {"ox_jpcontact.csv": "cp932", "thunderbird_shiftjis_addressbook.csv": "cp932"}


def _streamed(path: Path, folder: Path, size: int):
    stream = open_csv_stream(path, folder)
    if stream is None:
        return None
    parts = list(stream.batches(size))
    frame = pl.concat([p.frame for p in parts], how="vertical_relaxed")
    issues = [p.row_issues for p in parts if p.row_issues is not None]
    return stream, frame, (pl.concat(issues) if issues else None)


@pytest.mark.parametrize("path", CSVS, ids=lambda p: p.name)
def test_fixture_csvs_stream_as_they_read_whole(path, tmp_path):
    whole = read_csv(path, encoding=ENCODINGS.get(path.name))
    got = _streamed(path, tmp_path, 7)
    if got is None:  # not UTF-8: read whole only
        assert whole.encoding not in ("utf-8", "utf-8-sig")
        return
    stream, frame, issues = got
    assert stream.header.headers == whole.headers
    assert frame.equals(whole.frame)
    if whole.row_issues is None:
        assert issues is None
    else:
        assert issues.equals(whole.row_issues)


TRICKY = (
    "# exported 2026-11-28\n"
    "\n"
    "Title line\n"
    'Name,Email,Note\n'
    'Acme,a@acme.no,"two\nlines"\n'
    "\n"
    "#not a note: a row whose name starts with #?,x@y.no,\n"
    "Beta,b@beta.no,a,b,c\n"  # more fields than the header
    '"Gamma, Inc",g@gamma.no,"quoted, comma"\n'
    "  ,  ,  \n"
    "Delta,d@delta.no\n"
)


@pytest.mark.parametrize("size", [1, 2, 3, 100])
@pytest.mark.parametrize("bom", [False, True])
def test_titles_comments_blank_and_ragged_rows(tmp_path, size, bom):
    path = tmp_path / "tricky.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + TRICKY.encode())
    whole = read_csv(path)
    stream, frame, issues = _streamed(path, tmp_path, size)
    assert stream.header.headers == whole.headers == ["Name", "Email", "Note"]
    assert frame.equals(whole.frame)
    assert issues.equals(whole.row_issues)
    assert frame["source_row"].to_list() == whole.frame["source_row"].to_list()


def test_not_utf8_is_read_whole(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("Navn,By\nBjørn,Tromsø\n".encode("cp1252"))
    assert open_csv_stream(path, tmp_path) is None


def test_count_lines(tmp_path):
    for text, n in (("", 0), ("a", 1), ("a\n", 1), ("a\nb", 2), ("a\nb\n", 2)):
        (tmp_path / "f").write_text(text)
        assert count_lines(tmp_path / "f") == n


# (the Northwind files have rows with more fields than the header: row issues)
@pytest.mark.parametrize("path", [p for p in CSVS if p.name.startswith("northwind_neo4j_")]
                         + CSVS[:1], ids=lambda p: p.name)
def test_a_table_read_whole_batches_like_the_stream(path, tmp_path):
    """`TableBatches` (a sheet read whole, imported in chunks): the same rows and row
    issues, each issue in the batch of its row."""
    from transforms.sources import TableBatches

    whole = read_csv(path)
    parts = list(TableBatches(whole).batches(3))
    assert TableBatches(whole).count(3) == len(parts) == max(1, -(-whole.frame.height // 3))
    assert pl.concat([p.frame for p in parts]).equals(whole.frame)
    for p in parts:
        if p.row_issues is not None and p.row_issues.height:
            assert p.row_issues["source_row"].is_in(p.frame["source_row"].implode()).all()
    issues = [p.row_issues for p in parts if p.row_issues is not None and p.row_issues.height]
    if whole.row_issues is not None and whole.row_issues.height:
        assert pl.concat(issues).equals(whole.row_issues)
    else:
        assert not issues


def test_our_export_read_in_batches_loses_its_apostrophes_as_read_whole(tmp_path):
    """(issue 22 #10) The stream path takes off what `neutralise` added, as the whole read."""
    from transforms.export import write_table

    path = tmp_path / "ours.csv"
    write_table(pl.DataFrame({"=Name": [f"=N{i}" for i in range(50)],
                              "Email": [f"-e{i}@x.no" for i in range(50)]}), path)
    whole = read_csv(path)
    stream, frame, _ = _streamed(path, tmp_path, 7)
    assert stream.header.headers == whole.headers == ["=Name", "Email"]
    assert frame.equals(whole.frame)
    assert frame["=Name"][0] == "=N0" and frame["Email"][0] == "-e0@x.no"


def test_a_quoted_first_cell_starting_with_hash_is_data_not_a_comment(tmp_path):
    """(issue 22 #3: `"#1 Pizza AS",Per,…` was taken for a comment line and dropped)"""
    path = tmp_path / "hash.csv"
    path.write_text('# exported 2026-12-03\nCompany,First name\n"#1 Pizza AS",Per\n'
                    '# a note, with a comma\n"#2 ""Quoted"" AS",Kari\n#3 not quoted,Ola\n'
                    'Plain AS,Eva\n', encoding="utf-8")
    whole = read_csv(path)
    assert whole.frame.rows() == [(3, "#1 Pizza AS", "Per"), (5, '#2 "Quoted" AS', "Kari"),
                                  (7, "Plain AS", "Eva")]
    stream, frame, _ = _streamed(path, tmp_path, 2)
    assert frame.equals(whole.frame)
