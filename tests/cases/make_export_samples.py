"""Writes the address-book and price-list samples the README's examples import:
data/samples/outlook.csv (an Outlook export, English headers), data/samples/cards.vcf
(vCard 3.0) and data/samples/prices.csv (a price list with Norwegian headers).

Run from the repo root: `uv run python tests/cases/make_export_samples.py`. The outputs are
committed; this script documents how they were made.
"""

import csv
from pathlib import Path

from contracts.exports import OUTLOOK, OUTLOOK_LEFT_OUT

ROOT = Path(__file__).resolve().parents[2] / "data" / "samples"

OUTLOOK_ROWS = [  # (English header → value); every other column of the export is empty
    {"First Name": "Sigrid", "Last Name": "Aasen", "Company": "Solheim Regnskap AS",
     "Job Title": "Revisor", "E-mail Address": "sigrid@solheim-regnskap.example",
     "Mobile Phone": "+47 922 33 444", "Business Street": "Torget 3",
     "Business Postal Code": "7010", "Business City": "Trondheim",
     "Business Country/Region": "Norway", "Categories": "Kunde;Nyhetsbrev"},
    {"First Name": "Jonas", "Last Name": "Berg", "Company": "Solheim Regnskap AS",
     "E-mail Address": "jonas@solheim-regnskap.example", "Business Phone": "73 10 20 30"},
    {"Company": "Fjellheim Bygg AS", "Business Phone": "+47 55 12 34 56",
     "E-mail Address": "post@fjellheim-bygg.example", "Business City": "Bergen"},
    {"First Name": "Anna", "Last Name": "Lind", "Home Phone": "+46 8 123 456 78",
     "E-mail Address": "anna.lind@example.se", "Notes": "Met at the Stockholm fair"},
]

CARDS = """BEGIN:VCARD
VERSION:3.0
N:Dahl;Eirik;;;
FN:Eirik Dahl
ORG:Fjellheim Bygg AS
TITLE:Prosjektleder
EMAIL;TYPE=INTERNET,WORK:eirik@fjellheim-bygg.example
TEL;TYPE=CELL:+47 934 56 789
ADR;TYPE=WORK:;;Bryggen 5;Bergen;;5003;Norway
END:VCARD
BEGIN:VCARD
VERSION:3.0
N:Moe;Hanne;;;
FN:Hanne Moe
EMAIL;TYPE=INTERNET,HOME:hanne.moe@example.no
TEL;TYPE=HOME:+47 22 33 44 55
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Nordkapp Fisk AS
ORG:Nordkapp Fisk AS
TEL;TYPE=WORK:+47 78 47 00 00
URL:https://nordkapp-fisk.example
END:VCARD
"""

PRICES = [
    ["Varenummer", "Navn", "Enhet", "Pris", "Kategori"],
    ["KAFFE-1", "Kaffe, hele bønner 1 kg", "stk", "189,00", "Drikke"],
    ["KAFFE-2", "Kaffe, filtermalt 500 g", "stk", "99,50", "Drikke"],
    ["TE-1", "Grønn te, 100 poser", "eske", "1 234,50", "Drikke"],
    ["KOPP-1", "Kaffekopp, hvit", "stk", "kr 45,-", "Servise"],
]


def main() -> None:
    english = OUTLOOK_LEFT_OUT[:OUTLOOK_LEFT_OUT.index("User 4") + 1]  # (then other languages)
    headers = [*OUTLOOK, *english]
    with (ROOT / "outlook.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, headers, restval="", quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(OUTLOOK_ROWS)
    (ROOT / "cards.vcf").write_text(CARDS.replace("\n", "\r\n"), encoding="utf-8", newline="")
    with (ROOT / "prices.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=";").writerows(PRICES)


if __name__ == "__main__":
    main()
