"""Match keys: the same normalisation on both sides of every comparison."""

from __future__ import annotations

import email_validator
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_series_equal

from transforms import normalise as nz


def test_text_key():
    s = pl.Series(["  ACME   Inc. ", "Straße", "", None, "Ａｃｍｅ"])
    got = s.to_frame("v").select(nz.text_key(pl.col("v")))["v"]
    assert_series_equal(got, pl.Series("v", ["acme inc.", "strasse", None, None, "acme"]))


@given(st.text(alphabet=st.sampled_from(list("ab \t\n\r\x0b\x0c\u00a0\u2003\u3000\u200b")),
               max_size=12))
@settings(max_examples=300, deadline=None)
def test_text_key_folds_whitespace_as_one_space_per_run(text):
    """The faster pattern (only runs and non-space whitespace) folds like `\\s+` → " "."""
    got = pl.DataFrame({"v": [text]}).select(nz.text_key(pl.col("v")))["v"][0]
    ref = pl.DataFrame({"v": [text]}).select(
        pl.col("v").str.normalize("NFKC").str.to_lowercase().str.replace_all(r"\s+", " ")
        .str.strip_chars().replace("", None))["v"][0]
    assert got == ref


@given(st.lists(st.none() | st.text(alphabet=st.sampled_from(
    list("aZ9 .-") + ["\u00e9", "\u0301", "\ufb01", "\uff21", "\u00c5", "\u212b", "\u00df"]),
    max_size=6), max_size=8))
@settings(max_examples=200, deadline=None)
def test_unicode_form_normalises_as_polars_does_skipping_plain_ascii(values):
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    for form in ("NFC", "NFKC", "NFD", "NFKD"):
        got = frame.select(nz.unicode_form(pl.col("v"), form))["v"]
        assert_series_equal(got, frame["v"].str.normalize(form))


def test_digits_key():
    got = pl.DataFrame({"v": ["NO 923 609 016 MVA", "abc", None]}).select(nz.digits_key(pl.col("v")))
    assert got["v"].to_list() == ["923609016", None, None]


def test_phone_lookup_e164():
    got = nz.phone_lookup(pl.Series(["900 11 222", "+47 900 11 222", "0047 90011222", "call me",
                                     "+46 70-123 45 67"]), region="NO")
    assert dict(got.select("value", "e164").rows()) == {
        "900 11 222": "+4790011222", "+47 900 11 222": "+4790011222",
        "0047 90011222": "+4790011222", "call me": None, "+46 70-123 45 67": "+46701234567"}


def test_phone_numbers_are_read_in_their_records_country():
    pairs = pl.DataFrame({"value": ["030-0074321", "030-0074321", "(206) 555-9857"],
                          "region": ["DE", "NO", "US"]})
    got = {(v, r): e for v, r, e in nz.phone_lookup(pairs).rows()}
    assert got[("030-0074321", "DE")] == "+49300074321"
    assert got[("030-0074321", "NO")] is None  # not a Norwegian number
    assert got[("(206) 555-9857", "US")] == "+12065559857"
    countries = pl.DataFrame({"c": ["Germany", "Norge", "USA", "U.K.", "se", "Atlantis", None]})
    assert countries.select(nz.country_region(pl.col("c")))["c"].to_list() == [
        "DE", "NO", "US", "GB", "SE", None, None]


def test_email_lookup_agrees_with_the_library_on_odd_cases():
    odd = ["a@b.no", "A@B.NO", "a..b@c.no", ".a@b.no", "a@b", "a@-b.no", "a@b.test", "ø@æ.no",
           "\"quoted\"@b.no", "a b@c.no", "a@b.c", "a@b.co", "x@localhost"]
    got = dict(nz.email_lookup(pl.Series(odd)).rows())

    def library(v):
        try:
            email_validator.validate_email(v, check_deliverability=False)
            return True
        except email_validator.EmailNotValidError:
            return False

    assert {v: got[v] is not None for v in odd} == {v: library(v) for v in odd}


@settings(max_examples=300, deadline=None)
@given(st.from_regex(nz._PLAIN_EMAIL, fullmatch=True))
def test_every_fast_path_address_is_one_the_library_accepts(address):
    if len(address) > 254 or address.lower().rsplit(".", 1)[-1] in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        return  # the fast path excludes these explicitly
    email_validator.validate_email(address, check_deliverability=False)


def test_parse_date():
    got = pl.DataFrame({"v": ["2020-01-02", "02.01.2020", "2020-01-02 00:00:00", "31.02.2020"]}).select(
        nz.parse_date(pl.col("v")).cast(pl.String))["v"].to_list()
    assert got == ["2020-01-02", "2020-01-02", "2020-01-02", None]
