"""`ImportSettings`: the import policy file (SPEC §3), validated on load."""

from __future__ import annotations

import difflib
import re
import textwrap
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contracts.errors import SettingsInvalid, read_toml

Action = Literal["add", "merge", "replace", "skip"]
ListPolicy = Literal["add", "default", "blank"]
MultiPolicy = Literal["add", "replace", "ignore"]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _key(default: Any, description: str = "", **kw: Any) -> Any:
    """A settings key: its default and what it means (`crm-import settings` writes both)."""
    return Field(default=default, description=description, **kw)


PROTECT = "CRM columns never overwritten, even by replace (e.g. [\"name\", \"code\"])"


class ImportSection(_Section):
    phone_region: str = _key("NO", "region for phone numbers without a country code, unless "
                                   "the record names its country")
    max_rejects: float | int = _key(0.5, "a share (0-1, a float) or a row count (an integer): "
                                         "above it nothing is applied")
    # at 1M rows, 250k-row chunks cost the time of 500k and 0.5 GB less
    chunk_rows: int = _key(250_000, "a CSV or sheet with more rows is imported in chunks of "
                                    "whole entities", ge=1000)

    @field_validator("phone_region")
    @classmethod
    def _region(cls, v: str) -> str:
        import phonenumbers  # only here: the settings file is small

        if v.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{v!r} is not a region code phonenumbers knows (e.g. NO, SE, DK, DE)")
        return v.upper()

    @field_validator("max_rejects", "chunk_rows", mode="before")
    @classmethod
    def _not_a_flag(cls, v: Any) -> Any:
        if isinstance(v, bool):  # (TOML's true would pass as the number 1)
            raise ValueError(f"{str(v).lower()} is not a number")
        return v

    @field_validator("max_rejects")
    @classmethod
    def _max(cls, v: float | int) -> float | int:
        if isinstance(v, float) and not 0 <= v <= 1:
            raise ValueError("a share must be between 0 and 1 (or give a whole row count)")
        if v < 0:
            raise ValueError("must not be negative")
        return v


CompanyMatch = Literal["name", "name+department", "number", "code", "vat", "id", "orgnr"]
PersonMatch = Literal["name", "email", "mobile", "number", "id", "none"]
IfNoCompany = Literal["create_company", "skip", "without_company"]


def _chain(v: Any, allowed: tuple[str, ...]) -> Any:
    """A list of match keys, in the order they are tried (SPEC §3 "ordered match keys"):
    named, each once, `none` only alone."""
    if not isinstance(v, list | tuple):
        return v
    if not v:
        raise ValueError("an empty list: give one key, or several in the order to try them")
    if "none" in v:
        raise ValueError("'none' (companies only) cannot be in a list: write match = \"none\"")
    bad = [x for x in v if x not in allowed]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a key a list may hold (keys: "
                         f"{', '.join(a for a in allowed if a != 'none')})"
                         f"{_did_you_mean(str(bad[0]), list(allowed))}")
    twice = [x for i, x in enumerate(v) if x in v[:i]]
    if twice:
        raise ValueError(f"{twice[0]!r} is in the list twice")
    return tuple(v) if len(v) > 1 else v[0]


class _Matched(_Section):
    match: str | tuple[str, ...]

    @property
    def chain(self) -> tuple[str, ...]:
        """The match keys in the order they are tried (one key: a chain of one)."""
        return (self.match,) if isinstance(self.match, str) else self.match

    @property
    def shown(self) -> str:
        """The setting as the file writes it: `name`, or `["orgnr", "name"]`."""
        return self.match if isinstance(self.match, str) else \
            "[" + ", ".join(f'"{m}"' for m in self.match) + "]"


class CompanySection(_Matched):
    match: CompanyMatch | tuple[CompanyMatch, ...] = _key(
        "name", "the key a company is found by in the CRM, or a list of keys tried in order "
                "(e.g. [\"orgnr\", \"name\"])")
    action: Action = _key("merge", "what happens to a company the CRM has")
    protect: tuple[str, ...] = _key((), PROTECT)

    @field_validator("match", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        return _chain(v, get_args(CompanyMatch))


class PersonSection(_Matched):
    match: PersonMatch | tuple[PersonMatch, ...] = _key(
        "name", "the key a person is found by (a name within its company), or a list of "
                "keys tried in order (e.g. [\"email\", \"mobile\", \"name\"])")
    action: Action = _key("merge", "what happens to a person the CRM has")
    protect: tuple[str, ...] = _key((), PROTECT)
    if_no_company: IfNoCompany = _key("create_company", "a person row without a company: "
                                      "a company named after the person, left out, or a "
                                      "person without company")

    @field_validator("match", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        return _chain(v, get_args(PersonMatch))


class PrivacySection(_Section):
    """set on every person the import creates; follows the action on matched ones"""

    legal_basis: str = _key("default", max_length=100)
    consent_source: str = _key("import", max_length=100)
    comment: str = _key("", max_length=2000)

    @field_validator("legal_basis", "consent_source", "comment")
    @classmethod
    def _printable(cls, v: str) -> str:
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", v):
            raise ValueError("holds a control character (a NUL?); write plain text")
        return v


class ListsSection(_Section):
    """list fields: a value the CRM's list lacks is added, or the list's default, or left
    blank; phones and e-mails/URLs of matched records: added (existing ones kept),
    replaced, or ignored where the record has some"""

    category: ListPolicy = _key("add")
    business: ListPolicy = _key("add")
    position: Literal["add", "blank"] = _key("add")
    interest: ListPolicy = _key("add")
    custom: ListPolicy = _key("add")
    phones: MultiPolicy = _key("add")
    urls_emails: MultiPolicy = _key("add")


class ProductSection(_Section):
    price_list: str = _key("Standard", "created if missing; --price-list overrides it")
    currency: str = _key("NOK", "for a price list created by the import")
    match: Literal["name", "code", "name+code"] = _key("code", "within the price list")
    action: Action = _key("merge")
    protect: tuple[str, ...] = _key((), PROTECT)
    new_category: Literal["add", "blank"] = _key("add", "a category the CRM's list lacks")
    new_family: Literal["add", "blank"] = _key("add")
    new_type: Literal["add", "blank"] = _key("add")


class DuplicatesSection(_Section):
    suggest: bool = _key(True, "suggest possible duplicates of the records an import creates "
                               "(staging.suggestions; never applied)")
    min_score: float = _key(0.9, "the least score (0-1) a suggestion or a listed pair has",
                            ge=0.0, le=1.0)


class ImportSettings(_Section):
    import_: ImportSection = Field(default_factory=ImportSection, alias="import")
    company: CompanySection = Field(default_factory=CompanySection)
    person: PersonSection = Field(default_factory=PersonSection)
    privacy: PrivacySection = Field(default_factory=PrivacySection)
    lists: ListsSection = Field(default_factory=ListsSection)
    product: ProductSection = Field(default_factory=ProductSection)
    duplicates: DuplicatesSection = Field(default_factory=DuplicatesSection)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def as_toml_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


SECTIONS: dict[str, type[_Section]] = {"import": ImportSection, "company": CompanySection,
                                       "person": PersonSection, "privacy": PrivacySection,
                                       "lists": ListsSection, "product": ProductSection,
                                       "duplicates": DuplicatesSection}


# CRM columns a `protect` list may name, per entity.
PROTECTABLE = {
    "company": ("name", "department", "number", "code", "vat_number", "orgnr", "category",
                "business", "street", "postcode", "city", "country", "notes"),
    "person": ("company_id", "first_name", "middle_name", "last_name", "title", "position",
               "number", "birth_date", "street", "postcode", "city", "country", "notes",
               "legal_basis", "consent_source", "consent_comment"),
}


def _allowed(section: type[BaseModel] | None, name: str) -> list[str]:
    """The values a key allows: its Literal's (a Literal inside a union: a match key or a
    list of them)."""
    field = section.model_fields.get(name) if section else None
    args = get_args(field.annotation) if field else ()
    if args and all(isinstance(a, str) for a in args):
        return [str(a) for a in args]
    inner = [a for a in args if get_origin(a) is Literal]
    return [str(a) for a in get_args(inner[0])] if inner else []


def _did_you_mean(word: str, names: list[str]) -> str:
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else ""


_NUMBER_ERRORS = {"float_parsing", "int_parsing", "float_type", "int_type", "int_from_float",
                  "bool_type"}


def _plain(err: Any) -> tuple[str, str]:
    """One pydantic error as (key, what is wrong) in the words of the settings file."""
    loc = [str(p) for p in err["loc"]]
    section = SECTIONS.get(loc[0]) if loc else None
    key, got, kind = ".".join(loc[:2]), err.get("input"), err["type"]
    if kind == "extra_forbidden":
        if len(loc) == 1:
            return key, (f"unknown section [{loc[0]}]{_did_you_mean(loc[0], sorted(SECTIONS))} "
                         f"(sections: {', '.join(sorted(SECTIONS))})")
        names = sorted(section.model_fields) if section else []
        return key, (f"unknown key{_did_you_mean(loc[1], names)} ([{loc[0]}] has: "
                     f"{', '.join(names)})")
    if len(loc) == 1:
        return key, f"[{loc[0]}] must be a table of keys (e.g. [{loc[0]}] on a line of its own)"
    allowed = _allowed(section, loc[1])
    if kind == "literal_error" and allowed:
        return key, (f"{got!r} is not one of: {', '.join(allowed)}"
                     f"{_did_you_mean(str(got), allowed)}")
    if kind in _NUMBER_ERRORS:
        field = section.model_fields[loc[1]] if section else None
        whole = field is not None and field.annotation is int
        return key, f"{got!r} is not {'a whole number' if whole else 'a number'}"
    if kind == "string_type":
        return key, f"{got!r} is not text (write it in quotes)"
    if kind in ("tuple_type", "list_type"):
        return key, f"{got!r} is not a list (write e.g. [\"name\", \"code\"])"
    if kind == "greater_than_equal":
        return key, f"must be at least {err['ctx']['ge']} (got {got!r})"
    if kind == "less_than_equal":
        return key, f"must be at most {err['ctx']['le']} (got {got!r})"
    if kind == "string_too_long":
        return key, f"is {len(got)} characters long; at most {err['ctx']['max_length']}"
    message = str(err["msg"]).removeprefix("Value error, ")
    said = repr(got) in message or str(got).lower() in message.lower() or len(repr(got)) > 40
    return key, message if said else f"{message} (got {got!r})"


def parse_settings(data: dict[str, Any], *, source: str = "settings") -> ImportSettings:
    """Validate a settings mapping; every problem of it becomes one `SettingsInvalid`."""
    problems: dict[str, str] = {}
    try:
        settings: ImportSettings | None = ImportSettings.model_validate(data)
    except ValidationError as exc:
        settings = None
        for err in exc.errors():
            key, problem = _plain(err)
            problems.setdefault(key, problem)  # (a float | int key fails as both: say it once)
    for entity in ("company", "person"):
        given = (data.get(entity) or {}).get("protect") if isinstance(data.get(entity), dict) \
            else None
        if isinstance(given, str):
            problems[f"{entity}.protect"] = f"{given!r} is not a list (write [{given!r}])"
            continue
        bad = [f for f in given or () if isinstance(f, str) and f not in PROTECTABLE[entity]]
        if bad:
            problems[f"{entity}.protect"] = (
                f"unknown field {bad[0]!r}{_did_you_mean(bad[0], list(PROTECTABLE[entity]))} "
                f"(fields: {', '.join(PROTECTABLE[entity])})")
    if problems or settings is None:
        raise SettingsInvalid(source, list(problems.items()))
    return settings


def load_settings(path: str | Path | None) -> ImportSettings:
    """Read a settings TOML file (None: the defaults of SPEC §3)."""
    if path is None:
        return ImportSettings()
    p = Path(path)
    data = read_toml(p, lambda problem: SettingsInvalid(str(p), [("(file)", problem)]))
    return parse_settings(data, source=str(p))


def settings_file(settings: ImportSettings | None = None) -> str:
    """A settings file with every key — at `settings`' values, else the defaults — and a
    comment on each: its allowed values and what it means (`crm-import settings`)."""
    import tomli_w

    values = (settings or ImportSettings()).as_toml_dict()
    lines = ["# crm-import import settings: every key, with a comment saying what it means and",
             "# its allowed values. Keep only what you change; the rest are the defaults.",
             "# Use it with: crm-import run FILE --settings THIS_FILE", ""]
    for name, section in SECTIONS.items():
        if section.__doc__:
            lines += ["# " + line for line in textwrap.wrap(" ".join(section.__doc__.split()), 86)]
        lines.append(f"[{name}]")
        for key, field in section.model_fields.items():
            assignment = tomli_w.dumps({key: values[name][key]}).strip()
            comment = " | ".join(_allowed(section, key))
            if field.description:
                comment = f"{comment}: {field.description}" if comment else field.description
            lines.append(f"{assignment:<26}  # {comment}" if comment else assignment)
        lines.append("")
    return "\n".join(lines)
