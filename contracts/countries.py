"""Country names as people write them → ISO 3166 region codes (for phone numbers).

A phone number without a country code is read in the record's own country when the
record names one ("030-0074321" of a company in Germany is a Berlin number), else in
`[import] phone_region`. Names are compared casefolded, spaces and dots ignored; a
two-letter code is taken as it is.
"""

from __future__ import annotations

# region: names (English, own language, Scandinavian and German spellings)
_NAMES = {
    "NO": "Norway, Norge, Noreg, Norwegen, Norja",
    "SE": "Sweden, Sverige, Schweden",
    "DK": "Denmark, Danmark, Dänemark",
    "FI": "Finland, Suomi, Finnland",
    "IS": "Iceland, Ísland, Island",
    "DE": "Germany, Deutschland, Tyskland",
    "AT": "Austria, Österreich, Østerrike, Østrig",
    "CH": "Switzerland, Schweiz, Suisse, Svizzera, Sveits",
    "NL": "Netherlands, The Netherlands, Nederland, Holland, Niederlande",
    "BE": "Belgium, België, Belgique, Belgien",
    "LU": "Luxembourg, Luxemburg",
    "FR": "France, Frankrike, Frankrig, Frankreich",
    "ES": "Spain, España, Spania, Spanien",
    "PT": "Portugal",
    "IT": "Italy, Italia, Italien",
    "GB": "United Kingdom, UK, U.K., Great Britain, England, Scotland, Wales, "
          "Northern Ireland, Storbritannia, Storbritannien, Großbritannien",
    "IE": "Ireland, Irland, Éire",
    "PL": "Poland, Polska, Polen",
    "CZ": "Czech Republic, Czechia, Česko, Tsjekkia, Tjekkiet, Tschechien",
    "EE": "Estonia, Eesti, Estland",
    "LV": "Latvia, Latvija, Latvia, Lettland",
    "LT": "Lithuania, Lietuva, Litauen",
    "GR": "Greece, Hellas, Grækenland, Griechenland",
    "HU": "Hungary, Magyarország, Ungarn",
    "US": "United States, United States of America, USA, U.S.A., US, America, "
          "Amerika, USA (United States)",
    "CA": "Canada, Kanada",
    "MX": "Mexico, México, Mexiko",
    "BR": "Brazil, Brasil, Brasilien",
    "AR": "Argentina, Argentinien",
    "VE": "Venezuela",
    "CL": "Chile",
    "CO": "Colombia",
    "AU": "Australia, Australien",
    "NZ": "New Zealand, Aotearoa, Neuseeland",
    "JP": "Japan, 日本",
    "CN": "China, Kina",
    "IN": "India, Indien",
    "SG": "Singapore, Singapur",
    "ZA": "South Africa, Sør-Afrika, Sydafrika, Südafrika",
    "TR": "Turkey, Türkiye, Tyrkia, Türkei",
    "RU": "Russia, Russian Federation, Russland, Россия",
    "UA": "Ukraine, Україна",
    "IL": "Israel",
    "AE": "United Arab Emirates, UAE",
}


def country_key(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


COUNTRY_REGIONS: dict[str, str] = {
    country_key(n): code for code, names in _NAMES.items() for n in names.split(", ")
}

# Countries whose postcodes are all digits, of one length: a postcode a spreadsheet kept as
# a number ("150" for 0150 Oslo) gets its leading zeros back (issue 17 §4).
POSTCODE_DIGITS: dict[str, int] = {
    "NO": 4, "DK": 4, "CH": 4, "AT": 4, "BE": 4, "LU": 4, "AU": 4, "NZ": 4, "ZA": 4,
    "HU": 4, "SE": 5, "FI": 5, "DE": 5, "FR": 5, "IT": 5, "ES": 5, "US": 5, "EE": 5,
    "HR": 5, "MX": 5, "GR": 5, "TR": 5, "MY": 5, "TH": 5, "IS": 3,
}
