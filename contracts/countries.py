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
