"""How counts read in messages: "1 warning", "2 warnings", "1 company", "3 companies"."""

from __future__ import annotations

_IRREGULAR = {"person": "persons", "entry": "entries", "company": "companies",
              "property": "properties", "is": "are", "was": "were", "has": "have"}


def plural(n: int, noun: str) -> str:
    """The noun as `n` of it reads ("company" → "companies" unless n is 1)."""
    if n == 1:
        return noun
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def count(n: int, noun: str) -> str:
    """"1 warning", "2 warnings" — a number with its noun."""
    return f"{n} {plural(n, noun)}"
