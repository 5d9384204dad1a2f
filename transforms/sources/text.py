"""Decoding text exports: BOMs, UTF-16 without BOM, UTF-8, and 8-bit fallbacks by evidence.

An 8-bit file (Windows or Mac Excel/Outlook exports) is decoded with each candidate
encoding and the texts are scored: lowercase accented letters inside words count for an
encoding; capitals inside lowercase words ("MŠx") and stray symbols ("÷zdemir") count
against it. The best wins only if it is clearly best; otherwise the user is asked to say
--encoding, rather than getting mojibake.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from contracts.errors import SourceUnreadable

EIGHT_BIT = ("cp1252", "mac_roman", "mac_latin2")
SAMPLE = 1 << 20

_LOWER = "a-zß-ÿœšžłńśźżąęćčřěůőű"
_UPPER = "A-ZÀ-ÞŒŠŽŸŁŚŹŻĄĘĆČŘĚ"
_NON_ASCII_LOWER = "ß-ÿœšžłńśźżąęćčřěůőű"
_NON_ASCII_UPPER = "À-ÞŒŠŽŸŁŚŹŻĄĘĆČŘĚ"
# (evidence needs an ASCII letter beside the accented one: real words have them)
_GOOD = re.compile(
    rf"(?<=[a-z])[{_NON_ASCII_LOWER}]|[{_NON_ASCII_LOWER}](?=[a-z])"  # "blåbær"
    rf"|\b[{_NON_ASCII_UPPER}](?=[a-z])"  # "Ødegård"
    rf"|(?<=[A-Z])[{_NON_ASCII_UPPER}]|[{_NON_ASCII_UPPER}](?=[A-Z])")  # "MØRKVED"
_BAD_CASE = re.compile(
    rf"(?<=[{_LOWER}])[{_NON_ASCII_UPPER}](?=[{_LOWER}])|(?<=[{_UPPER}])[{_NON_ASCII_UPPER}](?=[{_LOWER}])"
    rf"|(?<=[{_UPPER}])[{_NON_ASCII_LOWER}](?=[{_UPPER}])")
_BAD_SYMBOL = re.compile(r"[^\x00-\x7f\w\s€–—„“”‘’‚…•°§£¥©®½¼¾«»·ºª¿¡×]|[\x80-\x9f]")


def score(text: str) -> int:
    """How much a decoded text looks like words people write (higher: more)."""
    sample = text[:SAMPLE]
    return (len(_GOOD.findall(sample)) - 3 * len(_BAD_CASE.findall(sample))
            - 3 * len(_BAD_SYMBOL.findall(sample)))


def _utf16_without_bom(data: bytes) -> str | None:
    """ASCII-heavy UTF-16 has a zero byte in every other position."""
    head = data[:4096]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


_KANA = re.compile(r"[\u3041-\u309f\u30a0-\u30ff]")  # hiragana, katakana (full width)
_KANJI = re.compile(r"[\u4e00-\u9fff]")
_HALF_KANA = re.compile(r"[\uff61-\uff9f]")  # what 8-bit accented capitals decode to


def _shift_jis(data: bytes) -> str | None:
    """Japanese Windows exports (Outlook, Thunderbird) are Shift-JIS (cp932). An 8-bit
    European file can decode as Shift-JIS too, into stray kanji and half-width kana; a
    Japanese one holds kana and kanji, and they are most of its non-ASCII text."""
    try:
        text = data[:SAMPLE].decode("cp932")
    except UnicodeDecodeError:
        try:  # (the sample may end inside a character)
            text = data[:SAMPLE - 1].decode("cp932")
        except UnicodeDecodeError:
            return None
    kana, kanji = len(_KANA.findall(text)), len(_KANJI.findall(text))
    other = sum(ord(c) > 0x7f for c in text) - kana - kanji
    if kana < 2 or len(_HALF_KANA.findall(text)) > 0.1 * (kana + kanji) or other > kana + kanji:
        return None
    try:
        return data.decode("cp932")
    except UnicodeDecodeError:
        return None


def read_bytes(path: Path) -> bytes:
    """A text export's bytes; a missing/unreadable or empty file is a clear error."""
    from contracts.errors import NoRows

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceUnreadable(str(path), exc.strerror or str(exc)) from None
    if not data.strip():
        raise NoRows(str(path), "the file is empty")
    return data


def decode_text(data: bytes, *, path: str, encoding: str | None = None) -> tuple[str, str]:
    """(text, encoding used). `encoding` forces one; a failure names the byte and line."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise SourceUnreadable(path, f"unknown encoding {encoding!r}",
                                   hint="use a Python codec name such as utf-8, cp1252, "
                                        "mac_roman, utf-16") from None
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise SourceUnreadable(path, f"not valid {encoding} at byte {exc.start}") from None
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
                     (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError as exc:
                raise SourceUnreadable(path, f"starts like {enc} but is not valid {enc} "
                                       f"(byte {exc.start})") from None
    if wide := _utf16_without_bom(data):
        try:
            return data.decode(wide), wide
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    if (japanese := _shift_jis(data)) is not None:
        return japanese, "cp932"
    texts = {}
    for enc in EIGHT_BIT:
        try:
            texts[enc] = data.decode(enc)
        except UnicodeDecodeError:
            continue
    ranked = sorted(((score(t), enc) for enc, t in texts.items()), reverse=True)
    if ranked and ranked[0][0] > 0 and (len(ranked) == 1 or ranked[0][0] > ranked[1][0]
                                        or texts[ranked[0][1]] == texts[ranked[1][1]]):
        return texts[ranked[0][1]], ranked[0][1]
    line = data[:first_bad].count(b"\n") + 1
    raise SourceUnreadable(
        path, f"not UTF-8 (line {line}, byte {first_bad}), and no other encoding fits clearly",
        hint="say which encoding it is with --encoding (e.g. cp1252 for Windows Excel "
             "exports, mac_roman for Mac)")
