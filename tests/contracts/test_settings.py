"""The settings file: defaults as in SPEC §3, and clear errors naming key and allowed values."""

from __future__ import annotations

import pytest

from contracts.errors import SettingsInvalid
from contracts.settings import ImportSettings, load_settings, parse_settings


def test_defaults_follow_the_spec():
    s = ImportSettings()
    assert (s.import_.phone_region, s.import_.max_rejects) == ("NO", 0.5)
    assert (s.company.match, s.company.action, s.company.protect) == ("name", "merge", ())
    assert (s.person.match, s.person.action, s.person.if_no_company) == ("name", "merge", "create_company")
    assert (s.privacy.legal_basis, s.privacy.consent_source, s.privacy.comment) == ("default", "import", "")
    assert (s.lists.category, s.lists.position, s.lists.phones, s.lists.urls_emails) == (
        "add", "add", "add", "add")
    assert (s.product.price_list, s.product.currency, s.product.match) == ("Standard", "NOK", "code")


def test_full_file_round_trip(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("""
[import]
phone_region = "se"
max_rejects = 10
[company]
match = "orgnr"
action = "replace"
protect = ["name", "code"]
[person]
match = "email"
if_no_company = "without_company"
[lists]
category = "default"
phones = "replace"
""", encoding="utf-8")
    s = load_settings(f)
    assert s.import_.phone_region == "SE" and s.import_.max_rejects == 10
    assert isinstance(s.import_.max_rejects, int)
    assert s.company.protect == ("name", "code") and s.person.if_no_company == "without_company"
    assert parse_settings(s.as_toml_dict()) == s


@pytest.mark.parametrize(("data", "key", "allowed"), [
    ({"company": {"match": "vat_no"}}, "company.match", "name, name+department, number"),
    ({"company": {"action": "upsert"}}, "company.action", "add, merge, replace, skip"),
    ({"person": {"if_no_company": "x"}}, "person.if_no_company", "create_company, skip"),
    ({"lists": {"position": "default"}}, "lists.position", "add, blank"),
    ({"compnay": {}}, "compnay", "company, duplicates, import, lists"),
    ({"person": {"matchh": "email"}}, "person.matchh", "action, if_no_company, match"),
    ({"import": {"max_rejects": 1.5}}, "import.max_rejects", ""),
    ({"import": {"phone_region": "XX"}}, "import.phone_region", ""),
    ({"company": {"protect": ["nme"]}}, "company.protect", "name, department"),
])
def test_bad_settings_name_the_key_and_the_allowed_values(data, key, allowed):
    with pytest.raises(SettingsInvalid) as info:
        parse_settings(data, source="s.toml")
    text = str(info.value)
    assert f"s.toml: setting {key!r}" in text
    assert allowed in text


def test_settings_file_problems(tmp_path):
    with pytest.raises(SettingsInvalid, match="file not found"):
        load_settings(tmp_path / "none.toml")
    (tmp_path / "bad.toml").write_text("[company\nmatch=", encoding="utf-8")
    with pytest.raises(SettingsInvalid, match="not valid TOML"):
        load_settings(tmp_path / "bad.toml")


def test_settings_are_frozen():
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type
        ImportSettings().company.action = "skip"  # type: ignore[misc]


def test_a_min_score_outside_0_to_1_is_refused_in_plain_words():
    with pytest.raises(SettingsInvalid) as info:
        parse_settings({"duplicates": {"min_score": 1.5}}, source="s.toml")
    assert "setting 'duplicates.min_score': must be at most 1.0 (got 1.5)" in str(info.value)
