"""vCard 2.1 / 3.0 / 4.0 (.vcf), jCard (.json) and xCard (.xml) → contact values.

Our own tolerant reader: `vobject` 0.9.9, the maintained Python library, fails on 16 of
the 39 .vcf fixtures (quoted-printable soft breaks, a space in a property name, base64
without folding, a bare "FN", folds that split a UTF-8 character; see docs/SOURCES.md).

Text lines are split, unfolded and quoted-printable joined as *bytes* (a fold may cut a
multi-byte character in two) and each value is decoded on its own: its CHARSET, else
UTF-8, else Windows-1252 (8-bit 2.1 cards without CHARSET). A file in UTF-16 (with or
without BOM) is decoded first. Properties become rows (card, name, types, value); which
canonical field each one fills is decided on the whole frame (`classify`).
"""

from __future__ import annotations

import binascii
import codecs
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from contracts.errors import NoRows, SourceUnreadable
from contracts.exports import GOOGLE_SYSTEM_GROUPS
from transforms.sources.contacts import (
    LONG_SCHEMA,
    address_block,
    address_entity,
    phone_field,
    url_field,
)
from transforms.sources.table import RawTable
from transforms.sources.text import _utf16_without_bom, read_bytes

PROPS_SCHEMA = pl.Schema({"source_row": pl.Int64, "seq": pl.Int64, "group": pl.String,
                "name": pl.String, "types": pl.String, "value": pl.String})
BINARY = {"PHOTO", "LOGO", "SOUND", "KEY"}
# properties that say nothing about the contact: not listed as "left out"
SILENT = {"BEGIN", "END", "VERSION", "PRODID", "REV", "UID", "X-ABLABEL", "X-ABSHOWAS", "KIND",
          "LABEL", "X-ABUID", "SORT-STRING", "CLIENTPIDMAP", "X-ABADR", "SOURCE", "NAME",
          "X-EVOLUTION-FILE-AS", "PROFILE", "MAILER", "TZ", "GEO"}
ENCODING_PARAMS = {"quoted-printable", "base64", "b", "8bit", "7bit"}


@dataclass
class _Parsed:
    props: list[tuple[int, int, str, str, str, str]] = field(default_factory=list)
    frame: pl.DataFrame | None = None  # the same rows, when read as a frame
    cards: int = 0
    fallback: bool = False  # a value was neither its CHARSET nor UTF-8
    left_out: set[str] = field(default_factory=set)

    def table(self) -> pl.DataFrame:
        """The properties as a frame (PROPS_SCHEMA), however they were read."""
        if self.frame is not None:
            return self.frame
        return pl.DataFrame(self.props, schema=PROPS_SCHEMA, orient="row")


# --- text vCard -------------------------------------------------------------------------------

_LINE = re.compile(rb'((?:[^:"\r\n]|"[^"]*")*):(.*)', re.S)
_PARAM = re.compile(rb'(?:[^;"]|"[^"]*")+')


def _to_utf8_bytes(data: bytes, path: Path, encoding: str | None) -> tuple[bytes, str]:
    """UTF-16 files (BOM or not) and a forced --encoding become UTF-8 bytes; others stay."""
    if encoding:
        try:
            return data.decode(encoding).encode("utf-8"), encoding
        except (LookupError, UnicodeDecodeError) as exc:
            raise SourceUnreadable(str(path), f"not readable as {encoding}: {exc}") from None
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc).encode("utf-8"), enc
            except UnicodeDecodeError:
                raise SourceUnreadable(str(path), f"starts like {enc} but is not valid {enc}") \
                    from None
    if wide := _utf16_without_bom(data):
        try:
            return data.decode(wide).encode("utf-8"), wide
        except UnicodeDecodeError:
            pass
    return data, "utf-8"


def _params(header: bytes) -> tuple[str, str, dict[str, list[str]]]:
    """"item1.TEL;type=CELL;PREF" → ("item1", "TEL", {"type": ["cell", "pref"]})."""
    parts = _PARAM.findall(header)
    name = parts[0].decode("latin-1").strip() if parts else ""
    group, _, name = name.rpartition(".")
    params: dict[str, list[str]] = {}
    for p in parts[1:]:
        text = p.decode("utf-8", "replace").strip()
        key, eq, val = text.partition("=")
        if not eq:  # 2.1 bare parameter: "WORK", "QUOTED-PRINTABLE"
            key, val = ("encoding" if val.lower() in ENCODING_PARAMS or key.lower()
                        in ENCODING_PARAMS else "type"), key
        vals = [v.strip().strip('"').lower() for v in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)",
                                                               val)]
        params.setdefault(key.strip().lower(), []).extend(v for v in vals if v)
    return group, name.upper(), params


def _is_qp(header: bytes) -> bool:
    return b"QUOTED-PRINTABLE" in header.upper()


def logical_lines(data: bytes) -> list[bytes]:
    """Unfold (a line starting with a space or tab continues the one before) and join
    quoted-printable soft breaks (a QP value ending in "=" continues on the next line),
    all on bytes."""
    lines = re.split(rb"\r\n|\n|\r", data)
    out: list[bytes] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        i += 1
        if line[:1] in (b" ", b"\t") and out:
            out[-1] += line[1:]
        else:
            out.append(line)
        head = _LINE.match(out[-1])
        if head and _is_qp(head.group(1)):
            while out[-1].endswith(b"=") and i < n:
                out[-1] = out[-1][:-1] + lines[i]
                i += 1
    return out


def _decode(value: bytes, params: dict[str, list[str]], parsed: _Parsed) -> str:
    """A value's text: its CHARSET (a stray bad byte becomes U+FFFD, the rest stays right),
    else UTF-8, else Windows-1252 (8-bit 2.1 cards written without CHARSET)."""
    if "quoted-printable" in params.get("encoding", []):
        value = binascii.a2b_qp(value)
    for charset in params.get("charset", []):
        try:
            return value.decode(charset, "replace")
        except LookupError:
            break
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        parsed.fallback = True
        return value.decode("cp1252", "replace")


def parse_vcf(data: bytes, path: Path) -> _Parsed:
    """Properties of a text vCard file: by whole-frame expressions when the file is plain
    UTF-8 without quoted-printable (3.0/4.0 exports), else line by line (2.1 files)."""
    fast = _parse_vcf_frame(data, path)
    return fast if fast is not None else _parse_vcf_lines(data, path)


def _truncated(path: Path, card: int) -> SourceUnreadable:
    return SourceUnreadable(
        str(path), f"card {card} has no END:VCARD: the file is cut short",
        hint="export the contacts again; nothing was imported from this file")


def needs_lines(data: bytes) -> bool:
    """Quoted-printable or a CHARSET other than UTF-8: the line reader's work."""
    upper = data.upper()
    charsets = set(re.findall(rb'CHARSET="?([A-Z0-9_.:-]+)', upper))
    return b"QUOTED-PRINTABLE" in upper or bool(charsets - {b"UTF-8", b"US-ASCII"})


def _parse_vcf_frame(data: bytes, path: Path) -> _Parsed | None:
    if needs_lines(data):
        return None
    unfolded = re.sub(rb"\n[ \t]", b"", re.sub(rb"\r\n?", b"\n", data))
    try:
        text = unfolded.decode("utf-8")
    except UnicodeDecodeError:
        return None
    line = pl.col("line").str.extract_groups(r'^(?P<header>(?:[^:"]|"[^"]*")*):(?P<value>.*)$')
    f = (pl.DataFrame({"line": text.split("\n")})
         .select(line.struct.field("header"), line.struct.field("value"))
         .drop_nulls("header")
         .with_row_index("seq", offset=1)
         .with_columns(pl.col("header").str.extract(r"^([^;]*)").alias("_full"),
                       # the parameters, lower-cased, without LABEL="…" (it may hold ";")
                       pl.col("header").str.extract(r"^[^;]*;(.*)$").str.to_lowercase()
                       .str.replace_all(r'(^|;)label="[^"]*"', "$1").alias("_p")))
    full = pl.col("_full").str.strip_chars()
    upper_value = pl.col("value").str.strip_chars().str.to_uppercase()
    f = f.with_columns(full.str.extract(r"([^.]*)$").str.to_uppercase().alias("name"),
                       full.str.extract(r"^(.*)\.[^.]*$").fill_null("").alias("group"))
    f = f.with_columns(((pl.col("name") == "BEGIN") & (upper_value == "VCARD")).alias("_b"),
                       ((pl.col("name") == "END") & (upper_value == "VCARD")).alias("_e"))
    f = f.with_columns((pl.col("_b").cast(pl.Int64).cum_sum()
                        - pl.col("_e").cast(pl.Int64).cum_sum()).alias("_depth"))
    if f.height and int(f["_depth"].min() or 0) < 0:  # type: ignore[arg-type]
        return None  # an END without BEGIN: the line reader is the tolerant one
    f = f.with_columns((pl.col("_b") & (pl.col("_depth") == 1)).cast(pl.Int64).cum_sum()
                       .alias("source_row"))
    cards = int(f["source_row"].max() or 0) if f.height else 0  # type: ignore[arg-type]
    if f.height and f["_depth"][-1] > 0:
        raise _truncated(path, cards)
    # TYPE=a,b and 2.1's bare parameters (WORK;VOICE) are the types; other key=value go
    # a quoted value may hold ";" (SORT-AS="あんどう;ろいど"): TYPE's and ENCODING's are
    # kept, others go
    params = (pl.col("_p").fill_null("")
              .str.replace_all(r'(^|;)(type|encoding)="([^"]*)"', "${1}${2}=$3")
              .str.replace_all(r'(^|;)[^;=]*="[^"]*"', "$1")
              .str.replace_all('"', "", literal=True))
    types = (params.str.replace_all(r"(^|;)type=", "$1")
             .str.replace_all(r"(^|;)[^;=]*=[^;]*", "$1")
             .str.replace_all(r"(^|;)(?:quoted-printable|base64|b|8bit|7bit)(;|$)", "$1$2")
             .str.replace_all(r"[;,\s]+", ",").str.strip_chars(","))
    f = (f.filter(~pl.col("_b") & ~pl.col("_e") & (pl.col("_depth") == 1))
         .with_columns(types.alias("types"),
                       params.str.contains(r"(^|;)(encoding=)?(b|base64)(;|$)").alias("_binary")))
    binary = pl.col("name").is_in(BINARY) | pl.col("_binary")
    parsed = _Parsed(cards=cards, left_out=set(f.filter(binary)["name"].unique()))
    parsed.frame = f.filter(~binary).select(list(PROPS_SCHEMA)).cast(PROPS_SCHEMA)
    return parsed


def _parse_vcf_lines(data: bytes, path: Path) -> _Parsed:
    parsed = _Parsed()
    depth, card, seq = 0, 0, 0
    for line in logical_lines(data):
        m = _LINE.match(line)
        if not m:
            continue  # blank lines, base64 left unfolded by old writers
        group, name, params = _params(m.group(1))
        raw_value = m.group(2)
        if name == "BEGIN" and raw_value.strip().upper() == b"VCARD":
            depth += 1
            card += depth == 1
            continue
        if name == "END" and raw_value.strip().upper() == b"VCARD":
            depth = max(0, depth - 1)
            continue
        if depth != 1:
            continue  # outside a card, or inside a nested (AGENT) card
        seq += 1
        if name in BINARY or set(params.get("encoding", [])) & {"base64", "b"}:
            parsed.left_out.add(name)
            continue
        value = _decode(raw_value, params, parsed)
        parsed.props.append((card, seq, group, name, ",".join(params.get("type", [])), value))
    if depth > 0:
        raise _truncated(path, card)
    parsed.cards = card
    return parsed


def with_labels(props: pl.DataFrame) -> pl.DataFrame:
    """item1.X-ABLabel:_$!<Mobile>!$_ names the kind of item1.TEL: add it to its types."""
    labels = (props.filter((pl.col("name") == "X-ABLABEL") & (pl.col("group") != ""))
              .group_by("source_row", "group").agg(pl.col("value").first().alias("_label")))
    return (props.filter(pl.col("name") != "X-ABLABEL")
            .join(labels, on=["source_row", "group"], how="left")
            .with_columns(pl.concat_str([pl.col("types").replace("", None), pl.col("_label")],
                                        separator=",", ignore_nulls=True).alias("types"))
            .drop("_label"))


# --- jCard / xCard ------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _component(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_escape(str(v)) for v in value)
    return _escape(str(value))


def parse_jcard(data: Any, path: Path) -> _Parsed:
    cards = data if data and isinstance(data[0], list) else [data]
    parsed = _Parsed()
    for card in cards:
        if not (isinstance(card, list) and len(card) >= 2 and card[0] == "vcard"):
            raise SourceUnreadable(str(path), "not a jCard: expected [\"vcard\", [properties]]")
        parsed.cards += 1
        for seq, prop in enumerate(card[1], start=1):
            name, params, _type, *values = prop
            name = str(name).upper()
            types = params.get("type", [])
            types = ",".join(t.lower() for t in ([types] if isinstance(types, str) else types))
            if name in BINARY:
                parsed.left_out.add(name)
                continue
            structured = len(values) > 1 or isinstance(values[0], list)
            parts = values[0] if len(values) == 1 and isinstance(values[0], list) else values
            value = ";".join(_component(v) for v in parts) if structured else _escape(str(values[0]))
            parsed.props.append((parsed.cards, seq, str(params.get("group", "")), name, types, value))
    return parsed


_XNS = "{urn:ietf:params:xml:ns:vcard-4.0}"
_XSTRUCT = {"N": ("surname", "given", "additional", "prefix", "suffix"),
            "ADR": ("pobox", "ext", "street", "locality", "region", "code", "country")}


def parse_xcard(root: ET.Element, path: Path) -> _Parsed:
    parsed = _Parsed()
    if root.tag != f"{_XNS}vcards":
        raise SourceUnreadable(str(path), "not an xCard: expected <vcards> in the vCard 4.0 namespace")
    for vcard in root.findall(f"{_XNS}vcard"):
        parsed.cards += 1
        props: list[tuple[str | None, ET.Element]] = [
            (None, p) for p in vcard if p.tag != f"{_XNS}group"]
        props += [(g.get("name", ""), p) for g in vcard.findall(f"{_XNS}group") for p in g]
        for seq, (group, prop) in enumerate(props, start=1):
            name = prop.tag.removeprefix(_XNS).upper()
            if name in BINARY:
                parsed.left_out.add(name)
                continue
            types = ",".join((t.text or "").lower() for t in prop.iterfind(
                f"{_XNS}parameters/{_XNS}type/{_XNS}text"))
            children = [c for c in prop if c.tag != f"{_XNS}parameters"]
            if name in _XSTRUCT:
                value = ";".join(",".join(_escape(c.text or "") for c in prop.findall(_XNS + part))
                                 for part in _XSTRUCT[name])
            else:
                value = ";".join(_escape(c.text or "") for c in children)
            parsed.props.append((parsed.cards, seq, group or "", name, types, value))
    return parsed


# --- properties → canonical values -----------------------------------------------------------


def _components(value: pl.Expr) -> pl.Expr:
    """Split a structured value on unescaped ";" (escapes kept for `_text`)."""
    return (value.str.replace_all(r"\\\\", "\x00").str.replace_all(r"\\;", "\x01")
            .str.split(";"))


def _text(expr: pl.Expr, *, newline: str = "\n") -> pl.Expr:
    """Unescape a vCard text value."""
    return (expr.str.replace_all("\x01", ";", literal=True)
            .str.replace_all(r"\\[nN]", newline).str.replace_all(r"\\([,;:\"'])", "$1")
            .str.replace_all("\x00", "\\", literal=True)
            .str.replace_all(r"\r?\n", newline).str.strip_chars().replace("", None))


def _part(parts: pl.Expr, i: int, *, words: bool = False) -> pl.Expr:
    value = parts.list.get(i, null_on_oob=True)
    if words:  # "Dr.,Prof." lists several values in one component
        value = value.str.replace_all(r"\\,", "\x02").str.replace_all(",", " ") \
            .str.replace_all("\x02", ",", literal=True)
    return _text(value, newline=", ")


def classify(props: pl.DataFrame) -> tuple[pl.DataFrame, set[str]]:
    """(long frame of canonical values, property names left out)."""
    name, types, value = pl.col("name"), pl.col("types"), pl.col("value")
    parts = _components(value)
    company_card = (props.filter(((name == "KIND") & (value.str.to_lowercase() == "org"))
                                 | ((name == "X-ABSHOWAS") & (value.str.to_uppercase() == "COMPANY")))
                    .select("source_row").unique())
    out = []

    def emit(frame: pl.DataFrame, field: pl.Expr | str, val: pl.Expr, block: pl.Expr | None = None,
             offset: int = 0) -> None:
        f = pl.lit(field) if isinstance(field, str) else field
        out.append(frame.select(
            "source_row", f.alias("field"), val.alias("value"), name.alias("label"),
            (block if block is not None else pl.lit(None, pl.String)).alias("block"),
            (pl.col("seq") * 10 + offset).alias("seq")))

    n = props.filter(name == "N")
    for i, f in ((1, "person_first_name"), (2, "person_middle_name"), (0, "person_last_name"),
                 (3, "person_title")):
        emit(n, f, _part(_components(value), i, words=True), offset=i)
    org = props.filter(name == "ORG")
    emit(org, "company_name", _part(parts, 0))
    emit(org, "company_department",
         _text(parts.list.slice(1).list.eval(pl.element().str.strip_chars())
               .list.filter(pl.element() != "").list.join(", "), newline=", "), offset=1)
    full_name, first_name = _fn_names(props, n, org)
    emit(full_name, "person_full_name", pl.col("_fn"))
    emit(first_name, "person_first_name", pl.col("_fn"), offset=1)
    for prop, f in (("TITLE", "person_position"), ("BDAY", "person_birth_date"),
                    ("NOTE", "person_notes"), ("CATEGORIES", "person_interest")):
        emit(props.filter(name == prop), f, _text(value))
    emit(props.filter(name == "EMAIL"), "person_email",
         _text(value).str.replace(r"(?i)^mailto:", ""))
    emit(props.filter(name == "TEL"), phone_field(types),
         _text(value).str.replace(r"(?i)^tel:", "").str.replace(r"(?i);ext=", " ext. "))
    emit(props.filter(name == "URL"), url_field(types), _text(value))
    adr = props.filter(name == "ADR")
    block = address_block(types) + pl.lit(":") + pl.col("seq").cast(pl.String)
    entity = address_entity(types)
    street = pl.concat_str([_part(parts, 1), _part(parts, 2)], separator=", ", ignore_nulls=True)
    for part, expr in (("street", street.replace("", None)), ("city", _part(parts, 3)),
                       ("postcode", _part(parts, 5)), ("country", _part(parts, 6))):
        emit(adr, entity + pl.lit("_" + part), expr, block)

    used = {"N", "ORG", "FN", "TITLE", "BDAY", "NOTE", "CATEGORIES", "EMAIL", "TEL", "URL", "ADR"}
    long = pl.concat(out, how="vertical_relaxed").drop_nulls("value").cast(LONG_SCHEMA)
    long = long.filter(~(pl.col("field").str.starts_with("person_") & pl.col("field").is_in(
        ["person_first_name", "person_middle_name", "person_last_name", "person_full_name",
         "person_title"]) & pl.col("source_row").is_in(company_card["source_row"].implode())))
    # Google's own groups ("My Contacts", "starred") are not interests anybody chose
    long = long.filter(~((pl.col("field") == "person_interest")
                         & pl.col("value").str.to_lowercase().is_in(GOOGLE_SYSTEM_GROUPS)))
    left_out = set(props["name"].unique()) - used - SILENT
    return long.select(list(LONG_SCHEMA)), left_out


def _fn_names(props: pl.DataFrame, n: pl.DataFrame, org: pl.DataFrame
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """FN (as `_fn`): the person's full name when N has no name; the first name when N has
    only a family name and FN is another word ("N:Spahn" + "FN:Michael"); else N says it
    all. Returns (cards whose FN is the full name, cards whose FN is the first name)."""
    name, value = pl.col("name"), pl.col("value")
    parts = _components(value)
    n_names = n.select("source_row", _part(parts, 1, words=True).alias("_given"),
                       _part(parts, 0, words=True).alias("_family")).unique("source_row")
    org_names = org.select("source_row", _part(parts, 0).alias("_org")).drop_nulls() \
        .unique("source_row")
    fn = (props.filter(name == "FN")
          .join(n_names, on="source_row", how="left").join(org_names, on="source_row", how="left")
          .with_columns(_text(value, newline=" ").alias("_fn"))
          .filter(pl.col("_org").is_null() | (pl.col("_fn") != pl.col("_org"))))
    no_name = pl.col("_given").is_null() & pl.col("_family").is_null()
    family_only = (pl.col("_given").is_null() & pl.col("_family").is_not_null()
                   & ~pl.col("_fn").str.to_lowercase().str.contains(
                       pl.col("_family").str.to_lowercase(), literal=True))
    return fn.filter(no_name), fn.filter(family_only)


def _display(props: pl.DataFrame, cards: int) -> pl.DataFrame:
    """One row per card, one column per property — a repeated one as `EMAIL`, `EMAIL (2)`,
    …: the record as it came, every value of it (staging.raw_rows, the rejects export)."""
    rows = pl.DataFrame({"source_row": pl.int_range(1, cards + 1, eager=True).cast(pl.Int64)})
    if props.is_empty():
        return rows
    nth = pl.col("name").cum_count().over("source_row", "name")
    wide = (props.sort("source_row", "seq")
            .with_columns(pl.when(nth > 1).then(pl.format("{} ({})", "name", nth))
                          .otherwise(pl.col("name")).alias("name"))
            .pivot(on="name", index="source_row", values="value", aggregate_function="first"))
    return rows.join(wide, on="source_row", how="left")


def read_vcard(path: Path, *, encoding: str | None = None) -> RawTable:
    data = read_bytes(path)
    suffix = path.suffix.lower()
    text_data, used = _to_utf8_bytes(data, path, encoding)
    stripped = text_data.lstrip()
    if suffix == ".json" or stripped.startswith(b"["):
        try:
            parsed, fmt = parse_jcard(json.loads(text_data), path), "jcard"
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError, TypeError, KeyError,
                IndexError, AttributeError) as exc:
            raise SourceUnreadable(str(path), f"not a readable jCard: {exc}") from None
    elif suffix == ".xml" or stripped.startswith(b"<"):
        try:
            parsed, fmt = parse_xcard(ET.fromstring(text_data), path), "xcard"
        except ET.ParseError as exc:
            raise SourceUnreadable(str(path), f"not readable XML: {exc}") from None
    else:
        if b"\x00" in text_data or not re.search(rb"(?im)^\s*BEGIN\s*:\s*VCARD", text_data):
            raise SourceUnreadable(str(path), "not a vCard file (no BEGIN:VCARD line)",
                                   hint="export the contacts as vCard (.vcf), or give the "
                                        "file's real type with --source")
        parsed, fmt = parse_vcf(text_data, path), "vcard"
    if parsed.cards == 0:
        raise NoRows(str(path), "the file holds no contacts")
    props = with_labels(parsed.table())
    long, left_out = classify(props)
    notes = []
    if parsed.fallback:
        used = f"{used} (values without CHARSET that are not UTF-8: cp1252)"
        notes.append("some values had no CHARSET and were not UTF-8: read as Windows-1252")
    display = _display(props, parsed.cards)
    return RawTable(display, [c for c in display.columns if c != "source_row"], "vcard",
                    path=str(path), encoding=used if fmt == "vcard" else "utf-8", notes=notes,
                    long=long, unmapped=tuple(sorted(left_out | parsed.left_out)), format=fmt)
