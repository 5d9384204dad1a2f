"""Decoding: BOMs, UTF-16 without BOM, UTF-8, 8-bit encodings by evidence, never mojibake."""

from __future__ import annotations

import codecs

import pytest

from contracts.errors import SourceUnreadable
from tests.conftest import FIXTURES
from transforms.sources.text import decode_text

TEXT = "Firma;Sted\nBlåbær AS;Tromsø\nÆrlig Ødegård AS;Ålesund\nMØRKVED HANDEL;BODØ\n"


@pytest.mark.parametrize(("data", "encoding"), [
    (TEXT.encode("utf-8"), "utf-8"),
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
    (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
    (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
    (TEXT.encode("utf-16-le"), "utf-16-le"),
    (TEXT.encode("utf-16-be"), "utf-16-be"),
    (TEXT.encode("cp1252"), "cp1252"),
    (TEXT.encode("mac_roman"), "mac_roman"),
])
def test_each_encoding_decodes_to_the_same_text(data, encoding):
    text, used = decode_text(data, path="t.csv")
    assert text.lstrip("\ufeff") == TEXT and used == encoding


@pytest.mark.parametrize(("name", "encoding", "word"), [
    ("outlook/projectopen_outlook2000_en_sample_latin1.csv", "cp1252", "Antoní"),
    ("outlook/tine20_importtest_outlook2013_de.csv", "cp1252", "Straße geschäftlich"),
    ("excel/tine20_importtest_win1252_semicolon.csv", "cp1252", "Üglü"),
    ("excel/tine20_user_import_macCentralEurope.csv", "mac_roman", "Müster"),
    ("excel/bring_postnummerregister_ansi_cp1252.txt", "cp1252", "BODØ"),
    ("outlook/tine20_adb_outlook2007_default_de.csv", "utf-8", "Stra\ufffde"),
])
def test_real_exports(name, encoding, word):
    text, used = decode_text((FIXTURES / name).read_bytes(), path=name)
    assert used == encoding and word in text


def test_no_confident_guess_is_an_error_not_mojibake():
    with pytest.raises(SourceUnreadable, match="no other encoding fits clearly.*--encoding"):
        decode_text(b"a;b\n\x8d\x8f\xa4;\x90\xa7\n", path="t.csv")


def test_forced_encoding():
    assert decode_text("Tromsø".encode("cp1252"), path="t", encoding="latin-1") == ("Tromsø", "latin-1")
    with pytest.raises(SourceUnreadable, match="unknown encoding"):
        decode_text(b"x", path="t", encoding="klingon")
    with pytest.raises(SourceUnreadable, match="not valid utf-8 at byte 3"):
        decode_text(b"abc\xff", path="t", encoding="utf-8")
