"""Generate the invented members of the demo federation.

This script produced every ``config/demo/<node>/members.csv``. The nine clusters are real (see ``README.md`` beside
this file); their members are not: organisation names are invented from common family names, words and place names
of each country, cities are real, and activity codes are real NACE Rev. 2 classes, written as the ISIC Rev. 4 class
they correspond to for about half of the members of the Lebanese and Tunisian nodes.

Each cluster is described below as a list of roles (a kind of member, how many, its activity codes, name templates,
offers and needs). The output is deterministic (one ``random.Random`` per node, seeded with ``SEED`` and the node id):
running the script again rewrites the same files. Every code is checked against the taxonomy files of the built-in
plugins before anything is written.

Knowledge members (universities, research centres) also get research domains (FORD codes, by organisation name in
``RESEARCH``) and, some of them, a website and an invented ROR-like id, drawn from a ``random.Random`` of their own
(seeded with ``SEED`` and the member id): the node's stream, and so every other column, is the same as before these
columns existed. ``ASSOCIATES`` adds fixed members after the drawn ones.

    python config/demo/generate.py
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

SEED = 20190409  # the first Techdays in Casablanca (seed 002); any fixed number would do

DEMO = Path(__file__).resolve().parent
ROOT = DEMO.parent.parent
NACE_CSV = ROOT / "plugins" / "nace_rev2" / "nace_rev2.csv"
ISIC_CSV = ROOT / "plugins" / "isic_rev4" / "isic_rev4.csv"
FORD_CSV = ROOT / "plugins" / "fields_of_science" / "ford.csv"

# The profile 1.3 columns come last, so that the earlier columns of every row read as before.
COLUMNS = ("id", "kind", "name", "city", "size", "activities", "offers", "needs", "export_markets", "status",
           "last_active", "visibility", "research_domains", "ror", "website", "email")
COMPANY_KINDS = ("sme", "startup", "large_company")

SHARE_DORMANT = 0.10
SHARE_FEDERATION = 0.15
SHARE_PRIVATE = 0.05
#: Companies that joined after the first draw, per node (appended, from a stream of their own): Menara and 2TS
#: reach 100+ members shared with the hub, so the demo's benchmark has large clusters to compare QOOT with.
GROWTH = {"menara": 12, "2ts": 48}
#: Members whose contact e-mail the cluster has (the others cannot be reached by mail: the node says so). The address
#: is private (no contact_visibility column), so it never leaves the node.
SHARE_WITH_EMAIL = 0.85
ACTIVE_DATES = (dt.date(2026, 1, 5), dt.date(2026, 11, 20))
DORMANT_DATES = (dt.date(2022, 9, 1), dt.date(2025, 4, 30))  # more than 18 months before the demo date

#: kind -> (sizes, weights); "" leaves the size empty.
SIZE_MIX = {
    "sme": (("micro", "small", "medium"), (25, 45, 30)),
    "startup": (("micro", "small"), (70, 30)),
    "large_company": (("large",), (1,)),
    "university": (("large", "medium"), (70, 30)),
    "research_centre": (("small", "medium", "large"), (40, 50, 10)),
    "support_organisation": (("micro", "small", ""), (40, 50, 10)),
    "investor": (("micro", "small", ""), (50, 40, 10)),
    "public_body": (("medium", "large", ""), (40, 30, 30)),
}
#: kind -> (probability of exporting, fewest markets, most markets); kinds not listed do not export.
EXPORTS = {"sme": (0.75, 1, 4), "large_company": (1.0, 3, 6), "startup": (0.4, 1, 2)}

GENERIC_NEEDS = (
    "Partners for collaborative R&D projects",
    "Export finance and guarantees",
    "Matchmaking with buyers in other clusters of the federation",
    "Staff training in digital skills",
    "Support with grant applications",
)


@dataclass(frozen=True)
class Country:
    code: str
    cities: tuple[str, ...]
    families: tuple[str, ...]
    markets: tuple[str, ...]            # export markets, most frequent first
    forms: tuple[str, ...]              # legal forms of SMEs and start-ups; "{}" is the name
    large_forms: tuple[str, ...]
    isic_share: float = 0.0             # share of members tagged with ISIC Rev. 4 instead of NACE Rev. 2


@dataclass(frozen=True)
class Role:
    """``count`` members of one kind doing the same thing.

    ``names`` holds templates (``{family}``, ``{city}``, ``{word}``) or ``(name, city)`` pairs; ``offers`` and
    ``needs`` are texts optionally ending in NACE Rev. 2 codes in brackets, ``[10.41]`` or ``[10.41;01.26]``.
    """

    count: int
    kind: str
    codes: tuple[str, ...]              # NACE Rev. 2 classes: the first always, up to two of the others
    names: tuple
    offers: tuple[str, ...]
    needs: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()        # default: the country's cities
    words: tuple[str, ...] = ()
    legal: bool = True                  # add the country's legal form to company names
    exports: bool = True


# --- countries ------------------------------------------------------------------------------------------------------

LEBANON = Country(
    "LB",
    cities=("Beirut", "Zahle", "Byblos", "Tripoli", "Saida", "Batroun", "Jounieh", "Chtaura", "Baalbek", "Tyre",
            "Nabatieh", "Zgharta", "Aley", "Bikfaya", "Dbayeh"),
    families=("Haddad", "Khoury", "Nassar", "Saadeh", "Karam", "Maalouf", "Daher", "Hajj", "Aoun", "Salameh",
              "Bitar", "Chidiac", "Rizk", "Abi Nader", "Fakhoury", "Tabet", "Sfeir", "Merhej", "Zgheib", "Khalil",
              "Hamadeh", "Jaber", "Itani", "Chehab", "Sleiman", "Abou Jaoude", "Najjar", "Ghanem", "Azar", "Harb"),
    markets=("AE", "SA", "QA", "KW", "FR", "US", "CA", "AU", "GB", "DE", "JO", "IQ", "CY", "OM", "BH"),
    forms=("{} s.a.l.", "{} SARL", "{}", "{}"),
    large_forms=("{} s.a.l.",),
    isic_share=0.5,
)
MOROCCO = Country(
    "MA",
    cities=("Casablanca", "Rabat", "Marrakech", "Agadir", "Fes", "Meknes", "Tangier", "Kenitra", "Oujda",
            "Tetouan", "Mohammedia"),
    families=("El Amrani", "Benjelloun", "Alaoui", "Tazi", "Bennani", "Berrada", "Chraibi", "El Idrissi",
              "Ouazzani", "Lahlou", "Sqalli", "El Fassi", "Bouzidi", "Ait Ouahmane", "Amzil", "Oubella",
              "Belkhayat", "Kettani", "Bousfiha", "Mernissi", "Bakkali", "Naciri", "Lamrani", "El Ouardi", "Ziani",
              "Tahiri", "Cherkaoui", "Bensouda", "Meziane", "Kaddouri", "Belhaj", "Boutaleb", "Ait Lahcen",
              "Amghar", "Haddioui", "Essaidi"),
    markets=("FR", "ES", "BE", "NL", "DE", "IT", "US", "CA", "AE", "SA", "GB", "JP", "SN", "CI", "MR"),
    forms=("{} SARL", "{} SARL AU", "{}", "{}"),
    large_forms=("{} SA",),
)
TUNISIA = Country(
    "TN",
    cities=("Monastir", "Sousse", "Ksar Hellal", "Moknine", "Mahdia", "Sahline", "Jemmal", "Téboulba", "Bekalta",
            "Ksibet el-Médiouni", "Msaken", "Zeramdine", "Bembla"),
    families=("Jaziri", "Ben Salah", "Bouaziz", "Gharbi", "Hammami", "Mejri", "Chaabane", "Ben Hamida", "Sfar",
              "Kchaou", "Masmoudi", "Ben Ammar", "Gharsallah", "Bahri", "Ayari", "Khelifi", "Mabrouk",
              "Ben Romdhane", "Jlassi", "Ouerghi", "Zouari", "Baccouche", "Ben Yahia", "Laabidi", "Mestiri", "Zghal",
              "Dhouib", "Chebbi", "Ben Amor", "Souissi"),
    markets=("FR", "IT", "DE", "BE", "ES", "LY", "DZ", "PT", "NL", "GB"),
    forms=("{} SARL", "{} SUARL", "{}", "{}"),
    large_forms=("{} SA",),
    isic_share=0.5,
)
SPAIN = Country(
    "ES",
    cities=("Valencia", "Alicante", "Barcelona", "Castellón de la Plana", "Elche", "Paterna", "Murcia", "Ibi",
            "Alcoy", "Sabadell", "Zaragoza", "Terrassa", "Sagunto", "Manresa"),
    families=("García", "Martínez", "Ferrer", "Sala", "Soler", "Vidal", "Serra", "Roig", "Navarro", "Llorens",
              "Mas", "Sanchis", "Pastor", "Giner", "Riera", "Font", "Pons", "Esteve", "Marín", "Ibáñez", "Vicent",
              "Ortega", "Rovira", "Cabrera", "Monfort", "Climent", "Torres", "Castell"),
    markets=("FR", "PT", "IT", "DE", "MA", "GB", "MX", "US", "CL", "NL", "DZ", "TN"),
    forms=("{}, S.L.", "{} S.L.", "{} SL"),
    large_forms=("{}, S.A.", "{} S.A."),
)
LATVIA = Country(
    "LV",
    cities=("Riga", "Jelgava", "Valmiera", "Cēsis", "Liepāja", "Ventspils", "Daugavpils", "Rēzekne", "Bauska",
            "Tukums", "Sigulda", "Dobele", "Ogre", "Smiltene", "Kuldīga", "Madona", "Talsi", "Limbaži"),
    families=("Bērziņš", "Kalniņš", "Ozoliņš", "Jansons", "Liepiņš", "Krūmiņš", "Zariņš", "Pētersons", "Vītols",
              "Eglītis", "Lācis", "Siliņš", "Balodis", "Grīnbergs"),
    markets=("LT", "EE", "FI", "SE", "DE", "NO", "GB", "PL", "DK", "NL", "IE"),
    forms=('SIA "{}"',),
    large_forms=('AS "{}"',),
)

# --- QOOT (Lebanon, agri-food) --------------------------------------------------------------------------------------

QOOT = (
    Role(8, "sme", codes=("11.02", "01.21", "11.01"),
         names=("Domaine {family}", "Château {word}", "Clos {family}", "Caves {family}", "{family} Estate Winery",
                "{city} Hills Winery"),
         words=("Kroum", "Layal", "Bustan", "Rawda", "des Oliviers", "de la Vallée", "Marj", "Nahla"),
         cities=("Zahle", "Chtaura", "Batroun", "Byblos", "Baalbek", "Jezzine"),
         offers=("Red, white and rosé wines from Bekaa vineyards [11.02]",
                 "Private-label wine for importers and retailers [11.02]",
                 "Traditional arak distilled from own grapes [11.01]",
                 "Table and wine grapes from own vineyards [01.21]",
                 "Winery visits and tastings for trade delegations"),
         needs=("Importers in the Gulf and Europe", "Lightweight glass bottles [23.13]",
                "Temperature-controlled storage near the port of Beirut [52.10]",
                "Support with EU wine labelling rules", "Vineyard irrigation advice [01.61]")),
    Role(7, "sme", codes=("10.41", "01.26", "10.39"),
         names=("{family} Olive Oil", "Zeitoun {family}", "{city} Olive Press", "{family} Groves",
                "Maasara {family}"),
         cities=("Amioun", "Hasbaya", "Zgharta", "Tripoli", "Saida", "Marjayoun", "Batroun", "Nabatieh"),
         offers=("Extra virgin olive oil, bulk and bottled [10.41]",
                 "Contract pressing and bottling of olive oil [10.41]",
                 "Table olives and olive paste [10.39]", "Olives from century-old groves around {city} [01.26]"),
         needs=("Organic certification support", "Tin and glass packaging [23.13]",
                "Distributors in Canada and Australia", "Panel test and chemical analysis of oil [71.20]")),
    Role(10, "sme", codes=("10.39", "10.84", "10.32", "10.89"),
         names=("{family} Mouneh", "Bayt {family}", "{family} Food Industries", "{city} Fine Foods",
                "Mouneh {city}", "{family} Conserves", "{family} & Daughters Preserves"),
         offers=("Traditional mouneh: jams, pickles and makdous [10.39]",
                 "Pomegranate molasses and rose syrup [10.84]", "Fruit juices and nectars [10.32]",
                 "Hummus and ready-to-eat mezze [10.89]", "Private-label preserves for diaspora retailers [10.39]"),
         needs=("Shelf-life studies [71.20]", "Nutrition labels compliant with EU and US rules",
                "Distributors in diaspora markets", "Glass jars [23.13]", "Financing for a new pasteuriser")),
    Role(5, "sme", codes=("10.51", "01.41", "01.45"),
         names=("{family} Dairy", "Laiterie {family}", "{city} Dairy Farms", "{family} Cheese",
                "Marj {family} Dairy"),
         cities=("Zahle", "Chtaura", "Baalbek", "Bikfaya", "Marjayoun", "Hasbaya", "Aley"),
         offers=("Labneh, akkawi and baladi cheeses [10.51]", "Shanklish and kishk [10.51]",
                 "Raw cow and goat milk [01.41;01.45]"),
         needs=("Refrigerated transport [49.41]", "Solar power for cooling", "Veterinary and feed advice",
                "Laboratory testing of milk [71.20]")),
    Role(5, "sme", codes=("10.82", "10.71"),
         names=("{family} Sweets", "Pâtisserie {family}", "{city} Baklava House", "Halawiyat {family}"),
         offers=("Baklava and Arabic sweets with long shelf life [10.82]", "Halva and nougat [10.82]",
                 "Maamoul and frozen pastries [10.71]"),
         needs=("Pistachio and pine nut suppliers [46.37]", "Food safety audit before exporting [71.20]",
                "Distributors in the Gulf")),
    Role(4, "sme", codes=("10.72", "10.89", "10.71"),
         names=("{family} Biscuits & Snacks", "{family} Chips", "{family} Bakeries"),
         offers=("Ka'ak and savoury biscuits [10.72]", "Baked and fried snacks [10.89]",
                 "Manakish dough and frozen bread [10.71]"),
         needs=("Flexible packaging film [22.22]", "Food safety audit before exporting [71.20]",
                "Distributors in the Gulf")),
    Role(9, "sme", codes=("01.13", "01.24", "01.25", "01.63", "01.61", "01.11"),
         names=("{family} Farms", "{family} Agricultural Co.", "{city} Fresh", "Bekaa {word}", "Bustan {family}"),
         words=("Harvest", "Greens", "Orchards", "Fields", "Growers"),
         cities=("Zahle", "Baalbek", "Chtaura", "Halba", "Tripoli", "Saida", "Tyre", "Byblos", "Jezzine", "Aley"),
         offers=("Apples and cherries from mountain orchards [01.24]",
                 "Greenhouse vegetables all year round [01.13]",
                 "Sorting, packing and pre-cooling of fresh produce [01.63]",
                 "Avocados and citrus from the coast [01.25]", "Potatoes and durum wheat [01.11;01.13]"),
         needs=("Cold storage capacity [52.10]", "Buyers in the Gulf", "Drip irrigation design [01.61]",
                "Residue testing for EU export [71.20]")),
    Role(2, "sme", codes=("10.84", "01.28"),
         names=("{family} Zaatar & Spices", "{family} Herbs"),
         offers=("Zaatar blends and dried herbs [10.84]", "Wild thyme and sumac from own fields [01.28]"),
         needs=("Pesticide residue analysis [71.20]", "Distributors in the diaspora")),
    Role(2, "sme", codes=("10.83",),
         names=("{family} Roasters", "Café {family}"),
         offers=("Roasted coffee with cardamom [10.83]", "Coffee capsules under private label [10.83]"),
         needs=("Compostable coffee bags [22.22]", "Green coffee importers [46.37]")),
    Role(2, "sme", codes=("11.07",),
         names=("{family} Beverages", "{family} Drinks Co."),
         offers=("Bottled spring water [11.07]", "Jallab and tamarind drinks [11.07]",
                 "Lemonade and soft drinks under private label [11.07]"),
         needs=("PET preforms [22.22]", "Distributors in Iraq and Jordan")),
    Role(3, "sme", codes=("17.21", "22.22", "82.92", "23.13"),
         names=("{family} Packaging", "Levant Pack", "{family} Print & Pack"),
         offers=("Corrugated cartons for produce export [17.21]",
                 "Printed flexible packaging for snacks [22.22]", "Contract packing of food products [82.92]"),
         needs=("Recycled board supply", "Food-contact testing [71.20]")),
    Role(2, "sme", codes=("46.39", "46.31"),
         names=("{family} Trading", "Cedar Foods Export", "{family} Export Co."),
         offers=("Consolidated export shipments to the Gulf [46.39]",
                 "Export of fresh fruit and vegetables [46.31]"),
         needs=("Suppliers with export certifications", "Reefer containers at competitive rates")),
    Role(2, "sme", codes=("49.41", "52.10"), exports=False,
         names=("{family} Freight & Cold Chain", "{family} Logistics"),
         offers=("Refrigerated road transport [49.41]", "Cold storage in {city} [52.10]"),
         needs=("Backhaul loads from the Bekaa",)),
    Role(4, "startup", codes=("01.61", "01.63", "72.19"),
         names=("Sakya", "Ard Analytics", "FarmLink", "Mawsem", "Hasad Tech", "Jouzour Agritech"),
         offers=("Soil-moisture sensors and irrigation scheduling [01.61]", "Drone crop monitoring [01.61]",
                 "Post-harvest loss tracking app [01.63]"),
         needs=("Pilot farms", "Seed funding", "Agronomy research partner [72.19]")),
    Role(4, "startup", codes=("10.89", "10.86", "10.39"),
         names=("Nabta Foods", "Plantiva", "Mezza Lab", "Bouqa Foods", "Zahra Kitchen", "Noura Nutrition"),
         offers=("Plant-based mezze and dips [10.89]", "Healthy snacks for children [10.86]",
                 "Freeze-dried fruit [10.39]"),
         needs=("Co-packer with export certifications [82.92]", "Shelf-life studies [71.20]", "Angel investors")),
    Role(2, "sme", codes=("38.21", "38.11", "20.15"), exports=False,
         names=("{family} Compost", "Green Cycle {city}", "Turab {family}"),
         offers=("Compost from food-industry waste [38.21]", "Collection of organic waste from food plants [38.11]",
                 "Organic fertiliser for orchards [20.15]"),
         needs=("Food processors with organic waste streams", "Compost quality testing [71.20]")),
    Role(3, "large_company", codes=("10.89", "10.39", "10.72", "46.39"),
         names=("{family} Group for Food Industries", "{family} Food Holding", "Cedar Foods Group",
                "{family} Brothers Industries"),
         offers=("Canned vegetables, hummus and ready meals [10.39;10.89]",
                 "Biscuits and wafers for regional markets [10.72]",
                 "Distribution network in Lebanon and the Gulf [46.39]"),
         needs=("Local suppliers of certified raw materials", "Innovation partnerships with start-ups")),
    Role(2, "university", codes=("85.42", "72.19"),
         names=(("Mount Lebanon School of Food Engineering", "Jounieh"),
                ("Bekaa Valley University, Faculty of Agronomy", "Zahle"),
                ("Levant Institute of Agricultural Sciences", "Beirut")),
         offers=("Food engineering graduates and internships [85.42]",
                 "Applied research on food processing [72.19]", "Training in food safety management [85.42]"),
         needs=("Industry partners for student projects", "Funding for pilot-plant equipment")),
    Role(2, "research_centre", codes=("72.19", "71.20", "72.11"),
         names=(("Cedar Food Research Centre", "Beirut"), ("Levant Agri-Food Testing Laboratory", "Chtaura"),
                ("Institute for Mediterranean Crops", "Tripoli")),
         offers=("Food safety testing and shelf-life studies [71.20]", "Soil, water and residue analysis [71.20]",
                 "Product development and sensory panels [72.19]", "Biotechnology for fermented foods [72.11]"),
         needs=("Accreditation to ISO/IEC 17025", "Research partners in EU clusters")),
    Role(3, "support_organisation", codes=("70.22", "82.30", "94.11"),
         names=("Agri-Food Export Advisory {city}", "Lebanese Food Exporters Network",
                "{city} Business Support Centre", "Bekaa Rural Enterprise Hub"),
         offers=("Export readiness coaching [70.22]", "Trade fair participation in the Gulf and Europe [82.30]",
                 "Market studies for diaspora markets [70.22]"),
         needs=("Co-funding for export missions",)),
    Role(2, "investor", codes=("64.30", "64.99"),
         names=(("Cedar Agri Ventures", "Beirut"), ("Levant Impact Fund", "Beirut"),
                ("Bekaa Growth Capital", "Zahle")),
         offers=("Seed and growth finance for agri-food SMEs [64.30]",
                 "Impact investment in rural value chains [64.99]"),
         needs=("Investment-ready agri-food companies",)),
    Role(1, "public_body", codes=("84.13",),
         names=(("North Lebanon Agricultural Extension Office", "Tripoli"),
                ("South Lebanon Rural Development Office", "Saida")),
         offers=("Extension services for farmers [84.13]", "Support programmes for agri-food exporters [84.13]"),
         needs=("Data on members' export needs",)),
)

# --- Cluster Menara (Morocco, luxury food and cosmetics) ------------------------------------------------------------

MENARA = (
    Role(5, "sme", codes=("10.41", "01.26"), legal=False,
         names=("Coopérative {word}", "Coopérative Féminine {word}"),
         words=("Tifaout", "Tanmirt", "Tagmat", "Tamount", "Afoulki", "Tiwizi", "Ajddig", "Tilelli", "Amalou"),
         cities=("Agadir", "Essaouira", "Taroudant", "Tiznit", "Biougra"),
         offers=("Cold-pressed cosmetic argan oil in bulk [10.41]",
                 "Roasted culinary argan oil and amlou [10.41;10.89]",
                 "Argan kernels from women's cooperatives [01.26]"),
         needs=("Organic and fair-trade certification", "Financing to modernise the oil press",
                "Buyers in Europe and Japan")),
    Role(5, "sme", codes=("10.41", "20.42", "46.45"),
         names=("Argan {family}", "Huilerie {family}", "{family} Argan Export", "Souss {word}"),
         words=("Argania", "Nectar", "Or Liquide", "Essentiel"),
         cities=("Agadir", "Essaouira", "Taroudant", "Casablanca", "Marrakech"),
         offers=("Certified organic argan oil, cosmetic and culinary grades [10.41]",
                 "Argan-based skincare under private label [20.42]",
                 "Export of argan oil to brand owners [46.45]"),
         needs=("Airless and glass bottles [23.13]", "COSMOS certification audit",
                "Distributors in Japan and the Gulf", "Traceability from tree to bottle")),
    Role(8, "sme", codes=("20.53", "01.28"),
         names=("Distillerie {family}", "Aromatiques {family}", "{family} Essences", "Herboristerie {family}"),
         cities=("Kelaat M'Gouna", "Marrakech", "Khenifra", "Azilal", "Meknes", "Taounate", "Ouarzazate", "Fes"),
         offers=("Damask rose water and rose essential oil [20.53]",
                 "Rosemary, thyme and wormwood essential oils [20.53]",
                 "Dried aromatic and medicinal herbs [01.28]", "Steam distillation for third parties [20.53]"),
         needs=("GC-MS analysis of essential oils [71.20]", "Perfumery buyers in Grasse", "Solar dryers for herbs",
                "A sustainability plan for wild harvesting")),
    Role(11, "sme", codes=("20.42", "20.53", "46.45"),
         names=("Laboratoires {family}", "{family} Cosmétiques", "Savonnerie {family}", "Atlas {word}",
                "Maison {family}"),
         words=("Beauté", "Naturelle", "Cosmetics", "Botanica", "Hammam"),
         cities=("Casablanca", "Marrakech", "Rabat", "Tangier", "Agadir", "Fes"),
         offers=("Natural cosmetics with argan, prickly pear and rose [20.42]",
                 "Private-label skincare manufacturing [20.42]", "Beldi black soap and ghassoul [20.42]",
                 "Hammam and spa product lines for hotels [20.42]"),
         needs=("Stability and challenge testing [71.20]", "EU cosmetic product safety report",
                "Premium cartons and cases [17.21]", "Distributors in France and the Gulf")),
    Role(3, "sme", codes=("01.28", "10.84"),
         names=("Safran {word}", "Épices {family}", "Safranière {family}"),
         words=("d'Or", "Royal", "du Souss", "de l'Atlas"),
         cities=("Taliouine", "Taroudant", "Marrakech"),
         offers=("Taliouine saffron, graded and packed [01.28]", "Saffron and ras el hanout blends [10.84]"),
         needs=("Authenticity and origin testing [71.20]", "Retail partners in Europe")),
    Role(3, "sme", codes=("01.22", "10.39"),
         names=("Dattes {family}", "Palmeraie {family}", "Oasis {family}"),
         cities=("Errachidia", "Erfoud", "Zagora"),
         offers=("Mejhoul dates in gift boxes [01.22]", "Date paste and stuffed dates [10.39]"),
         needs=("Luxury gift packaging [17.21]", "Cold storage for dates [52.10]")),
    Role(2, "sme", codes=("10.41", "10.84"),
         names=("Maison {family}", "Terroirs {family}"),
         cities=("Sidi Ifni", "Marrakech", "Meknes", "Guelmim"),
         offers=("Prickly pear seed oil [10.41]", "Preserved lemons, harissa and spice blends [10.84]"),
         needs=("Airless bottles for precious oils [22.22]", "Retail partners in Europe")),
    Role(4, "sme", codes=("10.41", "10.39", "01.26"),
         names=("Huilerie {family}", "Domaine {family}", "Conserverie {family}"),
         cities=("Meknes", "Fes", "Marrakech", "Kenitra", "Berkane"),
         offers=("Extra virgin olive oil from the Saïss plain [10.41]", "Olives and tapenades [10.39]",
                 "Single-estate olive oil in gift bottles [10.41]"),
         needs=("Importer in France or Belgium", "Panel test and chemical analysis of oil [71.20]",
                "Luxury gift packaging [17.21]")),
    Role(5, "sme", codes=("10.72", "10.82", "10.71"),
         names=("Chocolaterie {family}", "Biscuiterie {family}", "Pâtisserie {family}", "Les Délices {family}"),
         cities=("Fes", "Casablanca", "Marrakech", "Rabat", "Tangier", "Agadir"),
         offers=("Moroccan pastries (cornes de gazelle, ghriba) for export [10.72]",
                 "Date and almond chocolates [10.82]", "Pastries for hotels and caterers [10.71]"),
         needs=("Shelf-life studies [71.20]", "Luxury gift packaging [17.21]", "Cold-chain logistics [49.41]")),
    Role(4, "sme", codes=("10.89", "10.39", "10.84"),
         names=("Maison {family}", "{family} Gourmet", "{family} Fine Foods"),
         cities=("Casablanca", "Marrakech", "Agadir", "Fes", "Rabat"),
         offers=("Amlou spread with argan and almonds [10.89]", "Candied citrus and fruit preserves [10.39]",
                 "Gourmet spice blends and chermoula [10.84]"),
         needs=("Importer in France or Belgium", "Shelf-life studies [71.20]")),
    Role(3, "sme", codes=("01.49", "10.89"),
         names=("Miel {family}", "Rucher {family}", "Miellerie {family}"),
         offers=("Euphorbia, thyme and orange-blossom honey [01.49]", "Honey-based confectionery [10.89]"),
         needs=("Pollen and residue analysis [71.20]", "Support with export registration")),
    Role(3, "sme", codes=("10.83", "01.28"),
         names=("Thés & Infusions {family}", "Comptoir {family}", "Maison du Thé {family}"),
         offers=("Mint and verbena infusions [10.83]", "Luxury tea blends with local herbs [10.83]"),
         needs=("Organic mint growers [01.28]", "Tins and gift boxes [17.21]")),
    Role(4, "sme", codes=("17.21", "22.22", "23.13", "82.92"),
         names=("Emballages {family}", "{family} Packaging", "Cartonnerie {family}", "Flacons {family}"),
         cities=("Casablanca", "Mohammedia", "Tangier", "Agadir"),
         offers=("Luxury cartons and gift boxes [17.21]", "Cosmetic bottles and jars [22.22]",
                 "Glass bottles for oils [23.13]", "Co-packing services [82.92]"),
         needs=("Recycled board supply", "Design partner for premium packaging")),
    Role(2, "sme", codes=("49.41", "52.10"), exports=False,
         names=("{family} Logistique", "Froid {family}", "Transports {family}"),
         cities=("Casablanca", "Tangier", "Agadir"),
         offers=("Refrigerated transport to Tangier Med [49.41]", "Bonded and cold storage [52.10]"),
         needs=("Consolidated loads to Europe",)),
    Role(5, "sme", codes=("46.45", "46.33", "46.37", "46.38"),
         names=("{family} Distribution", "{family} Export", "Comptoir Marocain {word}", "{family} Import-Export"),
         words=("du Terroir", "des Saveurs", "des Arômes"),
         cities=("Casablanca", "Tangier", "Marrakech", "Agadir"),
         offers=("Export of Moroccan cosmetics to the Gulf [46.45]", "Distribution of olive and argan oils [46.33]",
                 "Spices and saffron wholesale [46.37]", "Gourmet food export to Europe [46.38]"),
         needs=("New suppliers with certifications", "Trade finance")),
    Role(8, "startup", codes=("20.42", "72.11", "10.89", "01.28"),
         names=("Argalia", "Nafas Bio", "Zitouna Labs", "Tabrida Tech", "Nakhla Innov", "Azir Lab", "Amal Naturals",
                "Tiwizi Innovation", "Noor Botanicals", "Ilham Bio"),
         cities=("Casablanca", "Rabat", "Marrakech", "Agadir", "Fes"),
         offers=("Prickly pear cosmetics [20.42]", "Protein from upcycled argan press-cake [10.89]",
                 "Plant-cell cultures for cosmetic actives [72.11]", "Vertical-farmed aromatic herbs [01.28]",
                 "Clean-label cosmetic serums [20.42]"),
         needs=("Incubation and lab access [72.19]", "Seed funding", "First industrial customer")),
    Role(3, "large_company", codes=("10.41", "20.42", "10.82", "10.39"),
         names=("Groupe {family} Agro-Industries", "{family} Industries", "Groupe {family}"),
         cities=("Casablanca", "Meknes", "Agadir", "Marrakech"),
         offers=("Industrial olive and argan oil refining [10.41]", "Contract manufacturing of cosmetics [20.42]",
                 "Confectionery and chocolate for retail chains [10.82]"),
         needs=("Start-ups with innovative ingredients", "Local certified suppliers")),
    Role(5, "university", codes=("85.42", "72.19"),
         names=(("Université Atlas-Souss des Sciences Appliquées", "Agadir"),
                ("École d'Ingénieurs en Agro-Industrie de Meknès", "Meknes"),
                ("Institut Euro-Méditerranéen de Cosmétologie", "Casablanca"),
                ("Institut Supérieur des Arts Culinaires de Marrakech", "Marrakech"),
                ("École Supérieure de Biotechnologie Végétale de Rabat", "Rabat"),
                ("Université Privée des Sciences du Vivant de Fès", "Fes")),
         offers=("Food science and formulation graduates [85.42]",
                 "Applied research on argan and aromatic plants [72.19]",
                 "Continuing education in food safety and cosmetics regulation [85.42]"),
         needs=("Industry partners for theses", "Funding for pilot-scale equipment")),
    Role(6, "research_centre", codes=("72.19", "72.11", "71.20"),
         names=(("Centre de Recherche sur l'Arganier et les Plantes Aromatiques", "Agadir"),
                ("Laboratoire d'Analyses Agroalimentaires de Casablanca", "Casablanca"),
                ("Centre d'Innovation Cosmétique de Marrakech", "Marrakech"),
                ("Institut de Biotechnologie Végétale du Souss", "Taroudant"),
                ("Centre Technique des Huiles Essentielles et Extraits", "Fes"),
                ("Plateforme d'Analyse Sensorielle de Rabat", "Rabat"),
                ("Centre de Recherche Oasien sur le Palmier Dattier", "Errachidia")),
         offers=("Phytochemical analysis of plant extracts [71.20]",
                 "Formulation support for natural cosmetics [72.19]",
                 "Food safety testing and shelf-life studies [71.20]",
                 "Extraction of actives from argan by-products [72.11]",
                 "Sensory panels and consumer tests [72.19]"),
         needs=("Industrial partners for collaborative projects", "Accreditation of new test methods")),
    Role(5, "public_body", codes=("84.13",),
         names=(("Office Régional des Produits du Terroir du Souss", "Agadir"),
                ("Agence de Développement des Filières Aromatiques", "Rabat"),
                ("Centre Régional d'Appui à l'Export de Marrakech", "Marrakech"),
                ("Observatoire National de la Cosmétique Naturelle", "Casablanca"),
                ("Fonds Régional pour l'Innovation Agroalimentaire de Fès-Meknès", "Meknes"),
                ("Agence Oasienne de Valorisation des Dattes", "Errachidia")),
         offers=("Export promotion programmes [84.13]", "Grants for product certification [84.13]",
                 "Origin labels for terroir products [84.13]"),
         needs=("Data on members' export needs",)),
    Role(4, "support_organisation", codes=("70.22", "82.30"),
         names=("Incubateur Tamayouz", "Cabinet {family} Conseil", "Qualité Plus Audit",
                "{family} Export Consulting", "Salon Saveurs et Beauté du Maroc"),
         cities=("Casablanca", "Marrakech", "Rabat"),
         offers=("Incubation of food and cosmetics start-ups [70.22]", "ISO 22716 and HACCP consulting [70.22]",
                 "B2B meetings and trade fairs [82.30]"),
         needs=("Sponsors for events",)),
    Role(2, "investor", codes=("64.30",),
         names=(("Atlas Agri Capital", "Casablanca"), ("Souss Impact Invest", "Agadir"),
                ("Maghreb Beauty Ventures", "Casablanca")),
         offers=("Growth equity for food and cosmetics SMEs [64.30]", "Seed tickets for start-ups [64.30]"),
         needs=("Investment-ready companies",)),
)

# --- Cluster Textile Technique du Sahel, 2TS (Tunisia) --------------------------------------------------------------

TWO_TS = (
    Role(3, "sme", codes=("13.10",),
         names=("Filature {family}", "{family} Fils", "Filature du {word}"),
         words=("Sahel", "Centre", "Littoral"),
         offers=("Cotton and polyester yarns [13.10]", "Open-end yarns for denim [13.10]"),
         needs=("Recycled cotton fibres", "Energy audit of the spinning mill")),
    Role(4, "sme", codes=("13.20", "13.10"),
         names=("Tissage {family}", "{family} Textile", "Tissus {family}"),
         offers=("Technical fabrics for workwear [13.20]", "Denim and twill weaving [13.20]",
                 "Jacquard furnishing fabrics [13.20]"),
         needs=("Buyers in Italy and Germany", "Recycled cotton fibres")),
    Role(5, "sme", codes=("13.30", "13.99"),
         names=("Teinturerie {family}", "Ennoblissement {family}", "{family} Finishing", "Délavage {city}"),
         offers=("Dyeing and finishing of knits and wovens [13.30]",
                 "Water-repellent and flame-retardant finishes [13.30]", "Garment washing and laser effects [13.30]"),
         needs=("Wastewater treatment solutions [38.21]", "Low-impact dyes supplier",
                "Chemical testing of effluents [71.20]")),
    Role(9, "sme", codes=("13.96", "13.95", "13.99"),
         names=("{family} Technical Textiles", "Tex-Tech {family}", "{family} Textiles Industriels",
                "Techtex {family}"),
         offers=("Nonwovens for hygiene and filtration [13.95]", "Coated fabrics for automotive interiors [13.96]",
                 "Geotextiles for civil engineering [13.96]", "Narrow fabrics and webbing [13.96]",
                 "Medical textiles and compresses [13.99]"),
         needs=("Testing to EN standards [71.20]", "Automotive tier-1 customers",
                "R&D partner for smart textiles [72.19]", "Financing for a coating line")),
    Role(14, "sme", codes=("14.13", "14.14", "14.19"),
         names=("Confection {family}", "Atelier {family}", "{family} Mode", "{family} Confection",
                "{family} Garments"),
         cities=("Moknine", "Ksar Hellal", "Monastir", "Téboulba", "Jemmal", "Sousse", "Mahdia", "Bekalta",
                 "Ksibet el-Médiouni", "Msaken", "Zeramdine", "Bembla"),
         offers=("Full-package denim production [14.13]", "Lingerie and swimwear, CMT and full package [14.14]",
                 "Workwear and protective garments [14.19]", "Knitted tops and sportswear [14.19]",
                 "Short runs for European brands [14.13]"),
         needs=("Certified sustainable fabrics", "Customers in Germany and Belgium", "Skilled sewing operators",
                "Digital pattern-making software")),
    Role(4, "sme", codes=("13.92",),
         names=("Linge de Maison {family}", "Textiles Maison {city}", "{family} Home Textiles"),
         offers=("Bed linen and towels [13.92]", "Hotel and hospital textiles [13.92]"),
         needs=("Hotel chains in Europe", "Organic cotton terry")),
    Role(3, "sme", codes=("15.20",),
         names=("Chaussures {family}", "{family} Safety Shoes"),
         offers=("Safety footwear [15.20]", "Leather work boots [15.20]"),
         needs=("Anti-slip sole testing [71.20]", "Leather suppliers")),
    Role(3, "sme", codes=("46.41", "46.42"),
         names=("{family} Import-Export Textile", "Comptoir Textile {city}", "{family} Négoce"),
         offers=("Fabric and trims sourcing [46.41]", "Export of finished garments [46.42]"),
         needs=("New suppliers of technical fabrics",)),
    Role(2, "startup", codes=("13.96", "72.19"),
         names=("SmarTex Sahel", "Fibrotik", "Nasij Labs", "Hayet Tex"),
         offers=("Heated and sensor-embedded textiles [13.96]", "Antibacterial textile coatings [13.96]"),
         needs=("Pilot production line", "Seed funding")),
    Role(2, "startup", codes=("38.32", "13.10"),
         names=("ReFibre Tunisia", "Khit Circular", "Loop Textile"),
         offers=("Recycled fibres from pre-consumer textile waste [38.32;13.10]",
                 "Collection of textile waste from garment factories [38.32]"),
         needs=("Garment factories with sorted offcuts", "A spinner to test recycled blends [13.10]")),
    Role(2, "large_company", codes=("14.13", "13.20", "13.30"),
         names=("Groupe {family} Textile", "{family} Industries", "Sahel Denim Group"),
         offers=("Vertical denim: weaving, making and washing [14.13;13.20]",
                 "Large-volume garment production for EU retailers [14.13]"),
         needs=("Sustainable fibre suppliers", "Automation partners")),
    Role(2, "university", codes=("85.42", "72.19"),
         names=(("Institut Supérieur des Métiers du Textile et de l'Habillement", "Moknine"),
                ("École d'Ingénieurs des Textiles Techniques du Sahel", "Monastir"),
                ("Université Privée du Centre-Est, Département Mode et Design", "Sousse")),
         offers=("Textile engineering graduates and internships [85.42]",
                 "Applied research on technical textiles [72.19]", "Training in garment production management [85.42]"),
         needs=("Industrial partners for final-year projects",)),
    Role(2, "research_centre", codes=("72.19", "71.20"),
         names=(("Centre de Recherche en Fibres et Composites du Sahel", "Monastir"),
                ("Laboratoire d'Essais Textiles de Ksar Hellal", "Ksar Hellal"),
                ("Unité de Recherche en Textiles Intelligents", "Sousse")),
         offers=("Physical and chemical testing of textiles [71.20]", "Smart and functional textiles R&D [72.19]",
                 "Characterisation of composite materials [71.20]"),
         needs=("Accredited test methods for protective equipment",)),
    Role(3, "support_organisation", codes=("70.22", "74.10", "82.30"),
         names=("Bureau de Design {family}", "Export Textile Conseil", "Centre d'Affaires de {city}",
                "{family} Consulting"),
         offers=("Collection design and technical packs [74.10]", "Lean manufacturing and export consulting [70.22]",
                 "B2B meetings with European buyers [82.30]"),
         needs=("Co-funding for trade missions",)),
    Role(1, "public_body", codes=("84.13",),
         names=(("Agence Régionale de Promotion Industrielle du Sahel", "Sousse"),
                ("Office de Développement du Centre-Est", "Monastir")),
         offers=("Industrial land and investment incentives [84.13]",),
         needs=("Data on members' investment plans",)),
    Role(1, "investor", codes=("64.30",),
         names=(("Sahel Invest SICAR", "Sousse"), ("Monastir Développement SICAR", "Monastir")),
         offers=("Equity for textile SMEs [64.30]",),
         needs=("Investment-ready textile companies",)),
)

# --- MDFC (Morocco, apparel and leather goods) ----------------------------------------------------------------------

MDFC_CITIES = ("Casablanca", "Tangier", "Fes", "Marrakech", "Rabat", "Tetouan", "Salé", "Mohammedia", "Meknes",
               "Kenitra")
MDFC = (
    Role(14, "sme", codes=("14.13", "14.14", "14.19"), cities=MDFC_CITIES,
         names=("Confection {family}", "{family} Textile", "Atelier {family}", "Mode {family}", "{family} Garments"),
         offers=("Fast-turnaround knitwear for European brands [14.13]",
                 "Denim with laser and ozone finishing [14.13]", "Kids' wear and nightwear [14.19]",
                 "Lingerie, CMT and full package [14.14]", "Short-run fashion for e-commerce brands [14.19]"),
         needs=("Eco-designed fabrics", "Product traceability software", "Recycled fibre suppliers [13.10]",
                "Life-cycle assessment of our collections")),
    Role(3, "sme", codes=("15.11",),
         names=("Tannerie {family}", "Cuirs {family}"),
         cities=("Fes", "Marrakech", "Mohammedia"),
         offers=("Vegetable-tanned leather [15.11]", "Goat and sheep leather for fashion brands [15.11]"),
         needs=("Chrome-free tanning expertise", "Recovery of leather offcuts [38.32]")),
    Role(3, "sme", codes=("15.12", "15.11"),
         names=("Maroquinerie {family}", "Atelier du Cuir {family}"),
         cities=("Fes", "Marrakech", "Casablanca", "Tetouan"),
         offers=("Handbags and small leather goods for luxury brands [15.12]",
                 "Leather goods, CMT for designers [15.12]"),
         needs=("Design partners for export collections", "Recovery of leather offcuts [38.32]")),
    Role(2, "sme", codes=("15.20",),
         names=("Babouches {family}", "Chaussures {family}"),
         cities=("Fes", "Marrakech", "Meknes"),
         offers=("Handmade babouches and sandals [15.20]", "Leather shoes for concept stores [15.20]"),
         needs=("Design partners for export collections",)),
    Role(6, "sme", codes=("13.20", "13.30", "13.10", "13.99"), cities=MDFC_CITIES,
         names=("{family} Textile", "Tissus {family}", "Textiles {family}"),
         offers=("Woven fabrics for shirting and workwear [13.20]", "Garment washing and dyeing [13.30]",
                 "Yarns from recycled cotton [13.10]"),
         needs=("Water recycling for the washing plant", "Buyers among local garment makers")),
    Role(4, "sme", codes=("74.10", "14.13"), cities=("Casablanca", "Marrakech", "Rabat", "Tangier"),
         names=("Studio {family} Design", "Atelier de Création {family}", "{family} Fashion Lab"),
         offers=("Eco-design and collection development [74.10]", "Sampling and prototyping of collections [14.13]"),
         needs=("A library of sustainable materials",)),
    Role(3, "sme", codes=("46.42", "46.41"), cities=("Casablanca", "Tangier"),
         names=("{family} Import-Export", "Comptoir Textile {family}", "{family} Sourcing"),
         offers=("Sourcing agent for European brands [46.42]", "Fabric and trims wholesale [46.41]"),
         needs=("Reliable eco-certified suppliers",)),
    Role(4, "startup", codes=("13.99", "72.19", "38.32"), cities=("Casablanca", "Rabat", "Tangier", "Fes"),
         names=("Tiss'Up", "Zellij Textiles", "Naqsh Materials", "Circulaire Maroc", "Matière Verte"),
         offers=("Plant-based leather alternative from cactus [13.99]", "Natural sabra fibre yarns [13.10]",
                 "Upcycling of garment offcuts [38.32]"),
         needs=("Industrial trials with tanneries", "Seed funding")),
    Role(2, "large_company", codes=("14.13", "14.14", "13.30"), cities=("Casablanca", "Tangier", "Fes"),
         names=("Groupe {family} Textile", "{family} Industries", "Atlas Apparel Group"),
         offers=("Large-volume denim and knitwear for EU retailers [14.13]",
                 "Vertical production with in-house washing [13.30]"),
         needs=("Eco-design partners", "Renewable energy supply")),
    Role(2, "university", codes=("85.42", "72.19"),
         names=(("Institut Supérieur de la Mode et du Design de Tanger", "Tangier"),
                ("École des Métiers du Cuir de Fès", "Fes"),
                ("Université Privée des Arts Appliqués de Casablanca", "Casablanca")),
         offers=("Fashion design and textile engineering graduates [85.42]",
                 "Research on eco-designed materials [72.19]"),
         needs=("Internships in sustainable apparel companies",)),
    Role(2, "research_centre", codes=("72.19", "71.20"),
         names=(("Centre d'Innovation Textile et Cuir", "Casablanca"),
                ("Laboratoire des Matériaux Éco-conçus de Fès", "Fes"),
                ("Plateforme de Recyclage Textile de Tanger", "Tangier")),
         offers=("Testing of fabrics and leather [71.20]", "Eco-design of materials [72.19]",
                 "Life-cycle assessment of garments [72.19]"),
         needs=("Industrial partners for collaborative projects",)),
    Role(3, "support_organisation", codes=("70.22", "82.30"), cities=("Casablanca", "Tangier", "Rabat"),
         names=("{family} Conseil Export", "Salon Mode et Cuir du Maroc", "Bureau Qualité Textile {family}",
                "{family} Compliance"),
         offers=("Compliance audits for European brands [70.22]", "Organisation of sourcing fairs [82.30]"),
         needs=("Co-funding for trade fairs",)),
    Role(1, "public_body", codes=("84.13",),
         names=(("Agence de Promotion des Industries de l'Habillement", "Rabat"),
                ("Centre Régional d'Investissement Textile du Nord", "Tangier")),
         offers=("Investment incentives for apparel makers [84.13]",),
         needs=("Data on members' investment plans",)),
    Role(1, "investor", codes=("64.30",),
         names=(("Maghreb Fashion Capital", "Casablanca"), ("Atlas Textile Fund", "Casablanca")),
         offers=("Growth capital for apparel SMEs [64.30]",),
         needs=("Investment-ready apparel companies",)),
)

# --- CE3M (Morocco, electronics) ------------------------------------------------------------------------------------

CE3M_CITIES = ("Casablanca", "Rabat", "Tangier", "Kenitra", "Fes", "Nouaceur", "Mohammedia", "Marrakech", "Agadir",
               "Oujda", "Meknes", "Temara")
CE3M = (
    Role(24, "sme", codes=("26.12", "26.11", "27.90"), cities=CE3M_CITIES,
         names=("{family} Electronics", "Atlas EMS", "Cartes Électroniques {family}", "{family} Électronique",
                "{city} Circuits", "{family} Assemblage"),
         offers=("PCB assembly, SMT and through-hole [26.12]", "Box build and cable harnesses [27.90]",
                 "Small-series prototyping of electronic boards [26.12]",
                 "Conformal coating and functional testing [26.12]"),
         needs=("Component sourcing [46.52]", "Automotive and aeronautics customers",
                "AOI and X-ray inspection equipment", "IPC-A-610 training for operators")),
    Role(8, "sme", codes=("26.11", "27.11"), cities=CE3M_CITIES,
         names=("{family} Composants", "{family} Components", "Composants Électroniques {family}"),
         offers=("Custom transformers and inductors [27.11]", "Connectors and passive components [26.11]",
                 "Wire harness sub-assemblies [26.11]"),
         needs=("Copper wire supply", "Customers in Europe")),
    Role(14, "sme", codes=("26.30", "26.51", "26.20"), cities=CE3M_CITIES,
         names=("{family} Systèmes Embarqués", "{family} Embedded", "IoT Maroc {family}", "{city} Embedded"),
         offers=("IoT gateways and sensors [26.30]", "Smart water and energy meters [26.51]",
                 "Industrial computers and HMIs [26.20]", "LoRa and GSM tracking devices [26.30]"),
         needs=("CE and EMC certification testing [71.20]", "Software partner for cloud platforms [62.01]",
                "Series production partner [26.12]")),
    Role(14, "sme", codes=("27.12", "27.11", "27.90"), cities=CE3M_CITIES,
         names=("Électro {family}", "{family} Électrotechnique", "{family} Énergie", "{family} Power Systems"),
         offers=("Low-voltage switchboards [27.12]", "Solar inverters and chargers [27.11]",
                 "EV charging stations [27.90]", "Motor control panels [27.12]"),
         needs=("Power electronics engineers", "Partner for EV charger certification [71.20]")),
    Role(6, "sme", codes=("26.51", "71.20"), cities=CE3M_CITIES,
         names=("Instrumentation {family}", "{family} Métrologie", "Mesures {family}"),
         offers=("Test benches and measuring instruments [26.51]", "Calibration and metrology services [71.20]"),
         needs=("Support towards ISO/IEC 17025 accreditation",)),
    Role(13, "sme", codes=("62.01", "62.02"), cities=CE3M_CITIES,
         names=("{family} Software", "Code Atlas", "{city} Digital", "{family} Systèmes d'Information",
                "{family} Tech"),
         offers=("Embedded firmware development [62.01]", "Industrial IoT platforms [62.01]",
                 "MES and traceability software [62.01]", "IT consulting for factories [62.02]"),
         needs=("Hardware partners for joint products", "Developers with embedded skills")),
    Role(4, "sme", codes=("33.13",), cities=CE3M_CITIES, exports=False,
         names=("{family} Maintenance Électronique", "Réparation Industrielle {family}",
                "{city} Electronic Services"),
         offers=("Repair of industrial electronic boards [33.13]",
                 "Maintenance of medical and test equipment [33.13]"),
         needs=("Spare parts sourcing [46.52]",)),
    Role(7, "sme", codes=("46.52",), cities=("Casablanca", "Tangier", "Rabat", "Mohammedia"),
         names=("{family} Distribution Électronique", "Composants {family}", "{family} Import"),
         offers=("Distribution of electronic components [46.52]", "Kitting for EMS producers [46.52]"),
         needs=("Bonded warehouse near Casablanca [52.10]",)),
    Role(12, "startup", codes=("26.30", "62.01", "26.51", "27.90", "72.19"), cities=CE3M_CITIES,
         names=("Sensia", "Voltika", "Tadbir", "Nawat", "Amane Tech", "Raqmi Labs", "Najm Electronics", "Tawasol",
                "Bionic Maroc", "Qiyas", "Atlas Hardware Lab", "Iklil Tech", "Masar Devices"),
         offers=("Connected sensors for agriculture [26.51]", "Battery management systems [27.90]",
                 "Telemedicine devices [26.30]", "Computer-vision quality control [62.01]",
                 "Smart home controllers [26.30]"),
         needs=("Access to the prototyping platform [72.19]", "Seed funding", "Series production partner [26.12]",
                "First pilot customer")),
    Role(4, "large_company", codes=("26.12", "27.12", "26.30", "27.90"),
         cities=("Casablanca", "Tangier", "Kenitra", "Nouaceur"),
         names=("{family} Industries Électroniques", "Groupe {family} Électrique", "Atlas Câblage Industries",
                "{family} Technologies"),
         offers=("High-volume electronics for automotive [26.12]", "Cable harnesses for aeronautics [27.90]",
                 "Power distribution equipment [27.12]"),
         needs=("Qualified local suppliers", "R&D partnerships with universities")),
    Role(5, "support_organisation", codes=("70.22", "94.11", "82.30"),
         cities=("Casablanca", "Rabat", "Tangier"),
         names=("Association Marocaine des Intégrateurs Électroniques", "{family} Conseil Industrie",
                "Réseau des Électroniciens du Nord", "Forum Électronique de Casablanca",
                "Association des Jeunes Entreprises Technologiques", "{family} Consulting"),
         offers=("Business development and export support [70.22]",
                 "Organisation of electronics trade meetings [82.30]",
                 "Project management for collaborative R&D [70.22]"),
         needs=("Sponsors for events",)),
    Role(2, "investor", codes=("64.30",),
         names=(("Atlas Tech Ventures", "Casablanca"), ("Maghreb Hardware Fund", "Rabat"),
                ("Nouaceur Seed Capital", "Nouaceur")),
         offers=("Seed and series A for hardware start-ups [64.30]",),
         needs=("Investment-ready hardware start-ups",)),
    Role(1, "sme", codes=("38.32", "38.11"), cities=("Casablanca", "Mohammedia"), exports=False,
         names=("Recyclage DEEE {family}", "{family} E-Recycling"),
         offers=("Collection and recycling of electronic waste [38.32]",),
         needs=("Industrial partners with e-waste",)),
    Role(10, "university", codes=("85.42", "72.19"),
         names=(("École Supérieure d'Électronique de Casablanca", "Casablanca"),
                ("Institut Polytechnique des Systèmes Embarqués", "Rabat"),
                ("École d'Ingénieurs en Mécatronique de Tanger", "Tangier"),
                ("Université Privée des Technologies Avancées de Fès", "Fes"),
                ("Institut Supérieur de Génie Électrique de Kénitra", "Kenitra"),
                ("École Marocaine des Télécommunications et Réseaux", "Rabat"),
                ("Institut d'Ingénierie Microélectronique de Marrakech", "Marrakech"),
                ("Université Technologique de l'Atlantique", "Agadir"),
                ("École d'Ingénierie des Énergies et Systèmes Intelligents", "Meknes"),
                ("Institut Supérieur des Sciences Appliquées de l'Oriental", "Oujda"),
                ("École Supérieure d'Informatique Industrielle de Mohammedia", "Mohammedia")),
         offers=("Electronics and embedded-systems engineers [85.42]",
                 "Applied research in power electronics [72.19]", "Joint R&D projects and PhD theses [72.19]",
                 "Continuing education in PCB design [85.42]"),
         needs=("Industrial internships", "Equipment for teaching labs")),
    Role(1, "research_centre", codes=("72.19", "71.20"),
         names=(("Institut de Recherche en Microélectronique et Systèmes Embarqués", "Rabat"),
                ("Centre d'Essais et de Prototypage Électronique", "Nouaceur")),
         offers=("EMC pre-compliance testing [71.20]", "Research on sensors and microsystems [72.19]"),
         needs=("Industrial partners for collaborative projects",)),
    Role(1, "public_body", codes=("84.13",),
         names=(("Agence Nationale de Promotion des Industries Électroniques", "Rabat"),
                ("Service des Investisseurs de la Zone Industrielle de Nouaceur", "Nouaceur")),
         offers=("Investment incentives for electronics plants [84.13]",),
         needs=("Data on members' investment plans",)),
)

# --- Valbiom (Morocco, waste and biomass recovery, eastern region) --------------------------------------------------

ORIENTAL = ("Oujda", "Berkane", "Nador", "Taourirt", "Guercif", "Jerada", "Figuig", "Bouarfa", "Driouch", "Saïdia",
            "Ahfir", "Zaio")
VALBIOM = (
    Role(6, "sme", codes=("38.11", "38.32"), cities=ORIENTAL, exports=False,
         names=("{family} Collecte et Tri", "Oriental Recyclage", "Propreté {city}", "{family} Environnement"),
         offers=("Collection of municipal and industrial non-hazardous waste [38.11]",
                 "Sorting and baling of plastics and cardboard [38.32]"),
         needs=("Buyers for sorted materials", "Financing for a sorting line")),
    Role(6, "sme", codes=("38.21", "20.15"), cities=ORIENTAL + ("Meknes", "Agadir"), exports=False,
         names=("Compost de l'Oriental", "{family} Agro-Compost", "Terre Vivante {city}", "{family} Fertilisants Bio"),
         offers=("Compost from olive pomace, manure and green waste [38.21]",
                 "Organic fertilisers for citrus orchards [20.15]", "Treatment of food-industry waste [38.21]"),
         needs=("Compost quality analysis [71.20]", "Farmers' cooperatives as buyers")),
    Role(4, "sme", codes=("35.21", "38.21", "71.12"), cities=ORIENTAL + ("Casablanca", "Rabat"), exports=False,
         names=("Biogaz {family}", "{family} Énergies Vertes", "Méthanisation de l'Oriental"),
         offers=("Biogas units for farms and agro-industries [35.21]", "Engineering of anaerobic digesters [71.12]"),
         needs=("Substrate supply agreements", "Grid connection advice")),
    Role(3, "sme", codes=("16.29", "02.20"), cities=ORIENTAL, exports=False,
         names=("Granulés {family}", "Bois Énergie de l'Oriental", "{family} Biomasse"),
         offers=("Pellets from wood and olive pits [16.29]", "Collection of forest residues [02.20]"),
         needs=("Industrial boilers as customers",)),
    Role(3, "sme", codes=("20.14", "20.53", "72.19"), cities=ORIENTAL + ("Fes",),
         names=("{family} Bio-Chimie", "Oriental Extraits", "{family} Green Chemicals"),
         offers=("Bio-based solvents and extracts from agro-residues [20.14]",
                 "Essential oils from citrus peel [20.53]"),
         needs=("Pilot-scale extraction [72.19]", "Buyers in cosmetics and food")),
    Role(3, "sme", codes=("38.32", "22.22"), cities=ORIENTAL + ("Casablanca",), exports=False,
         names=("{family} Plast Recyclage", "Régénération Plastique {city}", "{family} Polymères"),
         offers=("Recycled HDPE and PP granules [38.32]", "Crates and packaging from recycled plastic [22.22]"),
         needs=("Stable supply of sorted plastic",)),
    Role(2, "sme", codes=("10.41", "38.21"), cities=("Berkane", "Taourirt", "Guercif"),
         names=("Huilerie {family}", "Moulin {family}"),
         offers=("Extra virgin olive oil [10.41]", "Olive pomace and pits for energy and compost [38.21]"),
         needs=("Treatment of olive-mill wastewater [38.21]",)),
    Role(3, "sme", codes=("71.12", "70.22"), cities=("Oujda", "Nador", "Rabat"), exports=False,
         names=("{family} Ingénierie Environnement", "Bureau d'Études {family}", "Eco-Conseil {city}"),
         offers=("Environmental impact studies [71.12]", "Waste management plans for municipalities [70.22]"),
         needs=("Partners for EU-funded projects",)),
    Role(4, "startup", codes=("38.21", "01.49", "72.11", "20.15"), cities=("Oujda", "Nador", "Berkane", "Rabat"),
         names=("Zbel Tech", "Rmad Lab", "Dawra Bio", "Nador Green Lab", "Oriental Circular Tech"),
         offers=("Black soldier fly larvae from food waste [01.49;38.21]",
                 "Biochar from agricultural residues [20.15]", "Microalgae grown on wastewater [72.11]",
                 "Waste-tracking app for municipalities [38.11]"),
         needs=("Incubation and lab access [72.19]", "Seed funding", "Pilot site with a waste supply")),
    Role(2, "university", codes=("85.42", "72.19"),
         names=(("Institut Supérieur des Énergies Vertes d'Oujda", "Oujda"),
                ("École d'Ingénierie de l'Environnement de Nador", "Nador"),
                ("Institut Agro-Environnemental de Berkane", "Berkane")),
         offers=("Environmental engineering graduates [85.42]", "Research on waste recovery processes [72.19]"),
         needs=("Industrial partners for theses",)),
    Role(2, "research_centre", codes=("72.19", "72.11", "71.20"),
         names=(("Centre de Recherche sur la Biomasse de l'Oriental", "Oujda"),
                ("Laboratoire de Valorisation des Déchets de Berkane", "Berkane"),
                ("Centre d'Études des Bioénergies", "Rabat")),
         offers=("Biomass characterisation and methane potential tests [71.20]",
                 "Process development for bio-based products [72.19]"),
         needs=("Industrial partners for collaborative projects",)),
    Role(1, "public_body", codes=("84.13",),
         names=(("Observatoire Régional des Déchets de l'Oriental", "Oujda"),),
         offers=("Regional waste data and permit guidance [84.13]",),
         needs=("Data on members' waste streams",)),
    Role(1, "investor", codes=("64.30",),
         names=(("Oriental Green Fund", "Oujda"), ("Fonds Vert de l'Oriental", "Oujda")),
         offers=("Finance for waste-to-value projects [64.30]",),
         needs=("Bankable waste-to-value projects",)),
)

# --- a packaging cluster in Spain -----------------------------------------------------------------------------------

ES_PACKAGING = (
    Role(8, "sme", codes=("17.21",),
         names=("Cartonajes {family}", "Embalajes {family}", "Cartonajes del {word}", "{family} Packaging"),
         words=("Mediterráneo", "Levante", "Turia", "Vallès"),
         offers=("Corrugated boxes for fruit and vegetable export [17.21]",
                 "Folding cartons for confectionery and biscuits [17.21]",
                 "Display-ready packaging for retail [17.21]"),
         needs=("Recycled paper at stable prices", "Customers in North Africa and the Middle East")),
    Role(7, "sme", codes=("22.22",),
         names=("Plásticos {family}", "Envases {family}", "{family} Plastic Packaging"),
         offers=("Thermoformed trays for fresh produce [22.22]", "Recyclable PET jars and bottles [22.22]",
                 "Flexible films for snacks and coffee [22.22]"),
         needs=("Recycled PET supply [38.32]", "Migration testing [71.20]", "Eco-design of mono-material packs")),
    Role(3, "sme", codes=("23.13",),
         names=("Vidrios {family}", "Vidriera {word}", "{family} Glass"),
         words=("del Levante", "Mediterránea", "del Turia"),
         offers=("Glass jars and bottles for sauces and oils [23.13]",
                 "Premium glass bottles for wine and spirits [23.13]"),
         needs=("Lower-carbon furnace technology",)),
    Role(4, "sme", codes=("22.22", "23.13"),
         names=("{family} Cosmetic Packaging", "Envases Cosméticos {family}", "Frascos {family}"),
         offers=("Airless bottles and cosmetic jars [22.22]", "Decorated glass bottles for perfumes [23.13]"),
         needs=("Customers among natural cosmetics brands",)),
    Role(4, "sme", codes=("82.92",), exports=False,
         names=("Co-packing {family}", "Envasados {family}", "Manipulados {family}"),
         offers=("Contract packing and kitting of food products [82.92]",
                 "Gift-box assembly for seasonal campaigns [82.92]"),
         needs=("Automation of packing lines",)),
    Role(4, "sme", codes=("10.39", "10.84", "11.07", "10.41"),
         names=("{family} Alimentación", "Productos {family}", "Alimentos {family}"),
         offers=("Canned vegetables and sauces [10.39;10.84]", "Olive oil in glass and tin [10.41]",
                 "Juices and soft drinks [11.07]"),
         needs=("Recyclable packaging for export [22.22]", "Lighter glass bottles [23.13]")),
    Role(2, "sme", codes=("38.32", "38.11"), exports=False,
         names=("Reciclados {family}", "{family} Reciclaje"),
         offers=("Recycled PET and paper bales [38.32]",),
         needs=("Packaging makers buying recyclates",)),
    Role(2, "sme", codes=("52.10", "49.41"), exports=False,
         names=("Logística {family}", "Transportes {family}"),
         offers=("Warehousing of packaging materials [52.10]", "Road freight to France and Portugal [49.41]"),
         needs=("Return loads from Portugal",)),
    Role(3, "startup", codes=("22.22", "72.19", "17.21"),
         names=("Circulpack", "Envasa Verde", "Biopack Levante", "Ciclo Envases", "Nuvem Pack"),
         offers=("Compostable trays from rice straw [22.22]", "Moulded-fibre packaging [17.21]",
                 "Reusable packaging as a service [82.92]"),
         needs=("Industrial scale-up partner", "Food-contact certification [71.20]")),
    Role(2, "large_company", codes=("22.22", "17.21", "23.13"),
         names=("Grupo {family} Packaging", "{family} Envases Industriales", "Grupo Embalajes del {word}"),
         words=("Mediterráneo", "Levante"),
         offers=("High-volume rigid and flexible packaging [22.22]",
                 "Corrugated packaging plants across Spain [17.21]"),
         needs=("Innovative SMEs for recyclable solutions",)),
    Role(2, "research_centre", codes=("72.19", "71.20"),
         names=(("Instituto Tecnológico de Materiales para Envase", "Paterna"),
                ("Laboratorio de Seguridad Alimentaria y Envases de Alicante", "Alicante"),
                ("Centro de Ecodiseño de Envases", "Barcelona")),
         offers=("Migration testing of food-contact materials [71.20]",
                 "Shelf-life and barrier-property studies [71.20]",
                 "Eco-design and life-cycle assessment of packaging [72.19]"),
         needs=("Industrial partners for collaborative projects",)),
    Role(2, "university", codes=("85.42", "72.19"),
         names=(("Universidad Mediterránea de Ingeniería, Escuela de Materiales", "Valencia"),
                ("Escola Superior de Disseny d'Envasos de Barcelona", "Barcelona"),
                ("Universidad del Levante, Facultad de Ciencias de la Alimentación", "Alicante")),
         offers=("Packaging engineering graduates [85.42]", "Research on bio-based materials [72.19]"),
         needs=("Industrial internships",)),
    Role(1, "support_organisation", codes=("70.22",),
         names=("Consultoría {family} Sostenibilidad", "{family} Export Consulting"),
         offers=("Packaging waste compliance and eco-modulation [70.22]",),
         needs=("Clients in food and cosmetics",)),
    Role(1, "investor", codes=("64.30",),
         names=(("Levante Circular Capital", "Valencia"), ("Fondo Envase Sostenible", "Barcelona")),
         offers=("Growth capital for circular packaging [64.30]",),
         needs=("Investment-ready packaging start-ups",)),
)

# --- a food cluster in Latvia ---------------------------------------------------------------------------------------

LV_REGIONS = ("Zemgales", "Vidzemes", "Kurzemes", "Latgales", "Sēlijas", "Gaujas", "Abavas", "Ventas", "Daugavas")
LV_FOOD = (
    Role(7, "sme", codes=("10.51", "01.41"), words=LV_REGIONS,
         names=("{word} Piens", "{word} Siers", "Piena Pļava", "{word} Piensaimnieks"),
         offers=("Fresh cheese and curd snacks [10.51]", "Kefir, sour cream and butter [10.51]",
                 "Caraway cheese for export [10.51]"),
         needs=("Refrigerated transport to Scandinavia [49.41]", "New markets beyond the Baltics")),
    Role(6, "sme", codes=("10.71", "10.72"), words=LV_REGIONS,
         names=("{word} Maiznieks", "Rudzu Klēts", "Maizes Māja", "{word} Maiznīca"),
         offers=("Traditional rye bread, sliced and frozen [10.71]", "Oat and rye biscuits [10.72]",
                 "Sourdough breads for retail chains [10.71]"),
         needs=("Organic rye supply [01.11]", "Distributors in Germany and the UK")),
    Role(7, "sme", codes=("10.39", "10.32", "01.25"), words=LV_REGIONS,
         names=("{word} Ogas", "Ogu Dārzs", "{word} Dārzi", "Meža Veltes"),
         offers=("Freeze-dried cranberries and sea buckthorn [10.39]", "Cold-pressed apple and birch juices [10.32]",
                 "Frozen blueberries and lingonberries [01.25]", "Berry powders for food manufacturers [10.39]"),
         needs=("Freeze-drying capacity", "Buyers in Asia", "Residue testing [71.20]")),
    Role(5, "sme", codes=("01.11", "01.13", "01.50", "01.63"), legal=False,
         names=('ZS "{word}"',),
         words=("Ozoli", "Bērzi", "Liepas", "Kalnieši", "Lejnieki", "Saulrīti", "Avoti", "Pļavas", "Rasas",
                "Mežmalas", "Upenieki"),
         cities=("Jelgava", "Bauska", "Dobele", "Valmiera", "Cēsis", "Madona", "Rēzekne", "Kuldīga", "Smiltene"),
         offers=("Organic oats and rye [01.11]", "Potatoes and root vegetables [01.13]",
                 "Sorting and storage of vegetables [01.63]"),
         needs=("Processing partners for organic grain", "Cold storage [52.10]")),
    Role(5, "sme", codes=("10.82", "10.72"), words=LV_REGIONS,
         names=("{word} Saldumi", "Saldā Klēts", "{word} Konditoreja", "Saldumu Darbnīca"),
         offers=("Handmade chocolate with Latvian berries [10.82]", "Gingerbread (piparkūkas) [10.72]",
                 "Marshmallows and fudge [10.82]"),
         needs=("Premium gift packaging [17.21]", "Distributors in Finland and Sweden")),
    Role(3, "sme", codes=("01.49", "10.89"), words=LV_REGIONS,
         names=("Bišu Dārzs", "{word} Medus", "Medus Māja", "Vaska Šūna"),
         offers=("Linden and heather honey [01.49]", "Creamed honey with berries [10.89]"),
         needs=("Pollen analysis [71.20]",)),
    Role(3, "sme", codes=("11.07", "10.32"), words=LV_REGIONS,
         names=("{word} Dzērieni", "Dabas Dzērieni"),
         offers=("Birch sap drinks and kvass [11.07]", "Sparkling berry drinks [11.07]"),
         needs=("Glass bottle supplier [23.13]",)),
    Role(2, "sme", codes=("10.61",), words=LV_REGIONS,
         names=("{word} Dzirnavas", "Graudu Dzirnavas"),
         offers=("Oat flakes and rye flour [10.61]", "Gluten-free oat products [10.61]"),
         needs=("Organic grain growers [01.11]",)),
    Role(2, "sme", codes=("20.53", "01.28"), words=LV_REGIONS,
         names=("Meža Eļļas", "Kadiķu Aromāti", "{word} Ēteriskās Eļļas"),
         offers=("Pine, juniper and fir essential oils [20.53]", "Dried herbs and herbal teas [01.28]"),
         needs=("Cosmetics makers as customers [20.42]",)),
    Role(2, "sme", codes=("17.21", "82.92"), words=LV_REGIONS,
         names=("{word} Iepakojums", "Kartona Kastes"),
         offers=("Corrugated boxes for bakery and dairy [17.21]", "Contract packing [82.92]"),
         needs=("Recycled board supply",)),
    Role(2, "sme", codes=("52.10", "49.41"), words=LV_REGIONS, exports=False, cities=("Riga", "Jelgava", "Ventspils"),
         names=("{word} Loģistika", "Baltic Cold Chain"),
         offers=("Cold storage in the Riga free port [52.10]", "Refrigerated road transport to the Nordics [49.41]"),
         needs=("Return loads from Finland",)),
    Role(3, "sme", codes=("46.39", "46.31", "46.33"), words=LV_REGIONS, cities=("Riga", "Jelgava", "Liepāja"),
         names=("Baltic Food Export", "{word} Tirdzniecība", "Latvian Fine Foods", "Nordic Baltic Foods"),
         offers=("Export of Latvian food to the Nordics [46.39]", "Wholesale of fruit and vegetables [46.31]"),
         needs=("Producers with export capacity",)),
    Role(4, "startup", codes=("10.89", "72.11", "10.39"), cities=("Riga", "Jelgava", "Valmiera", "Cēsis"),
         names=("Fermenta", "Zaļā Karote", "Nākotnes Pārtika", "Pļavas Lab", "Rasa Foods"),
         offers=("Fermented oat drinks [10.89]", "Hemp-seed protein [10.89]",
                 "Powders from upcycled berry pomace [10.39]", "Precision fermentation of dairy proteins [72.11]"),
         needs=("Pilot plant access [72.19]", "Seed funding")),
    Role(2, "large_company", codes=("10.51", "10.71", "10.82"), words=LV_REGIONS,
         cities=("Riga", "Jelgava", "Valmiera", "Daugavpils"),
         names=("{word} Pārtika", "Baltijas Maizes Grupa", "{word} Konditori"),
         offers=("Dairy products for Baltic retail chains [10.51]", "Industrial bakery for Nordic markets [10.71]"),
         needs=("Innovative ingredients from start-ups",)),
    Role(2, "university", codes=("85.42", "72.19"),
         names=(("Jelgavas Pārtikas Tehnoloģiju Augstskola", "Jelgava"),
                ("Valmieras Lauksaimniecības Koledža", "Valmiera"),
                ("Baltijas Pārtikas Zinātņu Akadēmija", "Riga")),
         offers=("Food technology graduates and internships [85.42]",
                 "Applied research on cereals and berries [72.19]"),
         needs=("Industrial partners for theses",)),
    Role(2, "research_centre", codes=("72.19", "72.11", "71.20"),
         names=(("Pārtikas Drošības Pētniecības Centrs", "Riga"), ("Baltijas Fermentācijas Institūts", "Jelgava"),
                ("Ogulāju Pētījumu Stacija", "Bauska")),
         offers=("Food safety testing and shelf-life studies [71.20]", "Fermentation and biotech R&D [72.11]",
                 "Berry breeding and cultivation trials [72.19]"),
         needs=("Industrial partners for collaborative projects",)),
    Role(1, "support_organisation", codes=("70.22",),
         names=(("Lauku Eksporta Konsultācijas", "Riga"),),
         offers=("Export coaching for food SMEs [70.22]",),
         needs=("Co-funding for trade fairs",)),
    Role(1, "public_body", codes=("84.13",),
         names=(("Zemgales Reģionālais Lauku Attīstības Birojs", "Jelgava"),),
         offers=("Rural development grants [84.13]",),
         needs=("Data on members' investment plans",)),
    Role(1, "investor", codes=("64.30",),
         names=(("Baltic Agri Ventures", "Riga"),),
         offers=("Seed and growth capital for food tech [64.30]",),
         needs=("Investment-ready food start-ups",)),
)

# --- the Spanish association for internationalisation of electronics, IT and telecom companies ----------------------

ES_ELECTRONICS_CITIES = ("Barcelona", "Sabadell", "Terrassa", "Sant Cugat del Vallès", "Badalona", "Girona",
                         "Mataró", "Granollers", "L'Hospitalet de Llobregat", "Cornellà de Llobregat", "Rubí",
                         "Madrid", "Valencia", "Tarragona", "Lleida", "Manresa")
ES_ELECTRONICS = (
    Role(7, "sme", codes=("26.12", "26.11"), cities=ES_ELECTRONICS_CITIES,
         names=("Electrónica {family}", "Montajes Electrónicos {family}", "{family} EMS", "Circuitos {family}"),
         offers=("PCB assembly for industrial customers [26.12]", "Prototypes and small series [26.12]",
                 "Box build and testing [26.12]"),
         needs=("Partners for nearshore production in North Africa", "Component sourcing [46.52]")),
    Role(3, "sme", codes=("26.11",), cities=ES_ELECTRONICS_CITIES,
         names=("Componentes {family}", "{family} Microelectrónica", "{family} Sensores"),
         offers=("Custom sensors and hybrid circuits [26.11]",),
         needs=("Customers in the automotive sector",)),
    Role(6, "sme", codes=("26.30", "62.01"), cities=ES_ELECTRONICS_CITIES,
         names=("Telecomunicaciones {family}", "Antenas {family}", "{family} Radiofrecuencia", "{family} Networks"),
         offers=("5G small-cell antennas [26.30]", "Satellite ground equipment [26.30]",
                 "Private LTE networks for industry [26.30]"),
         needs=("Distributors in the Maghreb", "Certification support [71.20]")),
    Role(3, "sme", codes=("26.20",), cities=ES_ELECTRONICS_CITIES,
         names=("{family} Computers", "Sistemas Industriales {family}", "{family} Rugged PCs"),
         offers=("Industrial and rugged computers [26.20]", "Point-of-sale terminals [26.20]"),
         needs=("Resellers in Latin America",)),
    Role(4, "sme", codes=("26.51", "71.20"), cities=ES_ELECTRONICS_CITIES,
         names=("Instrumentación {family}", "{family} Metrología", "{family} Test & Measurement"),
         offers=("Data loggers and sensors [26.51]", "Calibration laboratory [71.20]"),
         needs=("Distributors in Morocco and Tunisia",)),
    Role(4, "sme", codes=("27.12", "27.11", "27.90"), cities=ES_ELECTRONICS_CITIES,
         names=("{family} Power Electronics", "Electrotecnia {family}", "{family} Energía"),
         offers=("EV chargers [27.90]", "Power converters for renewables [27.11]",
                 "Switchgear and control panels [27.12]"),
         needs=("Installers in export markets",)),
    Role(8, "sme", codes=("62.01", "62.02"), cities=ES_ELECTRONICS_CITIES,
         names=("{family} Software", "{family} Sistemas", "Informática {family}", "{family} Consulting IT",
                "Desarrollos {family}"),
         offers=("Embedded software and firmware [62.01]", "IoT and cloud platforms [62.01]",
                 "IT consulting and system integration [62.02]"),
         needs=("Hardware partners", "Experienced developers", "Clients in Mediterranean markets")),
    Role(4, "sme", codes=("46.52",), cities=ES_ELECTRONICS_CITIES,
         names=("Distribuciones Electrónicas {family}", "{family} Componentes", "{family} Import Export"),
         offers=("Distribution of electronic components [46.52]", "Wholesale of telecom equipment [46.52]"),
         needs=("Manufacturers looking for representation",)),
    Role(2, "sme", codes=("33.13",), cities=ES_ELECTRONICS_CITIES, exports=False,
         names=("{family} Reparaciones Electrónicas", "Servicio Técnico {family}"),
         offers=("Repair of industrial electronics [33.13]",),
         needs=("Spare parts sourcing [46.52]",)),
    Role(3, "startup", codes=("26.30", "62.01", "26.51"), cities=("Barcelona", "Sant Cugat del Vallès", "Terrassa"),
         names=("Sensoria Labs", "Voltia", "Nodo IoT", "Xarxa Sensors"),
         offers=("LoRaWAN sensors for smart cities [26.30]", "Edge AI cameras [62.01]"),
         needs=("Seed funding", "Manufacturing partner [26.12]")),
    Role(2, "large_company", codes=("26.30", "27.12", "26.12"), cities=("Barcelona", "Madrid", "Sabadell"),
         names=("Grupo {family} Telecom", "{family} Industrial Electronics", "Corporación {family}"),
         offers=("Telecom infrastructure equipment [26.30]", "Electrical equipment for utilities [27.12]"),
         needs=("Suppliers in Mediterranean countries",)),
    Role(2, "university", codes=("85.42", "72.19"),
         names=(("Universitat Tècnica del Vallès", "Terrassa"),
                ("Escuela Superior de Ingeniería Electrónica de Barcelona", "Barcelona"),
                ("Universidad Politécnica del Mediterráneo", "Valencia")),
         offers=("Electronics and telecom engineers [85.42]", "Research on RF and embedded systems [72.19]"),
         needs=("Industrial partners for theses",)),
    Role(1, "research_centre", codes=("72.19", "71.20"),
         names=(("Centre Tecnològic d'Electrònica Aplicada", "Cerdanyola del Vallès"),
                ("Instituto de Microsistemas de Barcelona", "Barcelona")),
         offers=("EMC and radio testing [71.20]", "Applied research on microsystems [72.19]"),
         needs=("Industrial partners for collaborative projects",)),
    Role(1, "support_organisation", codes=("70.22",), cities=("Barcelona",),
         names=("Consultoría {family} Internacional",),
         offers=("Export and internationalisation consulting [70.22]",),
         needs=("Partner consultants in North Africa",)),
)

NODES = {
    "qoot": (LEBANON, QOOT),
    "menara": (MOROCCO, MENARA),
    "2ts": (TUNISIA, TWO_TS),
    "mdfc": (MOROCCO, MDFC),
    "ce3m": (MOROCCO, CE3M),
    "valbiom": (MOROCCO, VALBIOM),
    "es-packaging": (SPAIN, ES_PACKAGING),
    "lv-food": (LATVIA, LV_FOOD),
    "es-electronics": (SPAIN, ES_ELECTRONICS),
}

# --- research domains, websites and ROR-like ids of the knowledge members ------------------------------------------

KNOWLEDGE_KINDS = ("university", "research_centre")

#: The research of each knowledge organisation as OECD FORD codes, main field first: our own reading of what its
#: invented name and its role's offers say it does (a stage of a value chain is supported by the FORD codes its
#: ``fields`` list, config/value_chains/*.yaml).
RESEARCH: dict[str, tuple[str, ...]] = {
    # QOOT (agri-food, LB): food engineering, agronomy, crops, food safety; no packaging or economics
    "Mount Lebanon School of Food Engineering": ("2.11", "2.4", "3.3"),
    "Bekaa Valley University, Faculty of Agronomy": ("4.1", "4.2", "4.4"),
    "Levant Institute of Agricultural Sciences": ("4.1", "4.5", "1.6"),
    "Cedar Food Research Centre": ("2.11", "1.6", "3.3"),
    "Levant Agri-Food Testing Laboratory": ("1.4", "3.3"),
    "Institute for Mediterranean Crops": ("4.1", "4.4"),
    # Menara (food and cosmetics, MA): plant biotechnology, argan and aromatic plants, formulation, food science
    "Université Atlas-Souss des Sciences Appliquées": ("4.1", "1.6", "2.11"),
    "École d'Ingénieurs en Agro-Industrie de Meknès": ("2.11", "2.4", "4.1"),
    "Institut Euro-Méditerranéen de Cosmétologie": ("1.4", "3.3", "2.4"),
    "Institut Supérieur des Arts Culinaires de Marrakech": ("2.11", "5.3"),
    "École Supérieure de Biotechnologie Végétale de Rabat": ("4.4", "1.6"),
    "Université Privée des Sciences du Vivant de Fès": ("1.6", "4.2", "3.3"),
    "Centre de Recherche sur l'Arganier et les Plantes Aromatiques": ("4.1", "1.4", "4.4"),
    "Laboratoire d'Analyses Agroalimentaires de Casablanca": ("1.4", "3.3", "2.11"),
    "Centre d'Innovation Cosmétique de Marrakech": ("1.4", "2.4", "3.3"),
    "Institut de Biotechnologie Végétale du Souss": ("4.4", "1.6"),
    "Centre Technique des Huiles Essentielles et Extraits": ("1.4", "2.4"),
    "Plateforme d'Analyse Sensorielle de Rabat": ("2.11", "5.1"),
    "Centre de Recherche Oasien sur le Palmier Dattier": ("4.1", "4.4"),
    # 2TS (technical textiles, TN)
    "Institut Supérieur des Métiers du Textile et de l'Habillement": ("2.5", "6.4"),
    "École d'Ingénieurs des Textiles Techniques du Sahel": ("2.5", "2.4"),
    "Université Privée du Centre-Est, Département Mode et Design": ("6.4", "5.2"),
    "Centre de Recherche en Fibres et Composites du Sahel": ("2.5", "2.4"),
    "Laboratoire d'Essais Textiles de Ksar Hellal": ("2.5", "1.4"),
    "Unité de Recherche en Textiles Intelligents": ("2.5", "2.2", "2.10"),
    # MDFC (fashion and leather, MA)
    "Institut Supérieur de la Mode et du Design de Tanger": ("6.4", "2.5"),
    "École des Métiers du Cuir de Fès": ("2.5", "2.4"),
    "Université Privée des Arts Appliqués de Casablanca": ("6.4", "5.3"),
    "Centre d'Innovation Textile et Cuir": ("2.5", "2.4"),
    "Laboratoire des Matériaux Éco-conçus de Fès": ("2.5", "2.7"),
    "Plateforme de Recyclage Textile de Tanger": ("2.7", "2.5"),
    # CE3M (electronics, MA)
    "École Supérieure d'Électronique de Casablanca": ("2.2", "1.2"),
    "Institut Polytechnique des Systèmes Embarqués": ("2.2", "1.2"),
    "École d'Ingénieurs en Mécatronique de Tanger": ("2.3", "2.2"),
    "Université Privée des Technologies Avancées de Fès": ("2.2", "2.10", "1.3"),
    "Institut Supérieur de Génie Électrique de Kénitra": ("2.2",),
    "École Marocaine des Télécommunications et Réseaux": ("2.2", "1.2"),
    "Institut d'Ingénierie Microélectronique de Marrakech": ("2.2", "2.10"),
    "Université Technologique de l'Atlantique": ("2.2", "2.3", "1.3"),
    "École d'Ingénierie des Énergies et Systèmes Intelligents": ("2.2", "2.3"),
    "Institut Supérieur des Sciences Appliquées de l'Oriental": ("1.3", "2.2", "1.2"),
    "École Supérieure d'Informatique Industrielle de Mohammedia": ("1.2", "2.2"),
    "Institut de Recherche en Microélectronique et Systèmes Embarqués": ("2.2", "2.10", "1.3"),
    "Centre d'Essais et de Prototypage Électronique": ("2.2", "2.3"),
    # Valbiom (waste and biomass, MA)
    "Institut Supérieur des Énergies Vertes d'Oujda": ("2.7", "2.4"),
    "École d'Ingénierie de l'Environnement de Nador": ("2.7", "2.1"),
    "Institut Agro-Environnemental de Berkane": ("4.1", "2.7", "1.5"),
    "Centre de Recherche sur la Biomasse de l'Oriental": ("2.8", "2.9", "1.5"),
    "Laboratoire de Valorisation des Déchets de Berkane": ("2.7", "2.8"),
    "Centre d'Études des Bioénergies": ("2.8", "2.9", "2.4"),
    # the packaging cluster in Spain: materials, food-contact safety, eco-design
    "Instituto Tecnológico de Materiales para Envase": ("2.5", "2.4"),
    "Laboratorio de Seguridad Alimentaria y Envases de Alicante": ("2.11", "1.4", "3.3"),
    "Centro de Ecodiseño de Envases": ("2.5", "2.7"),
    "Universidad Mediterránea de Ingeniería, Escuela de Materiales": ("2.5", "2.4"),
    "Escola Superior de Disseny d'Envasos de Barcelona": ("2.5", "6.4"),
    "Universidad del Levante, Facultad de Ciencias de la Alimentación": ("2.11", "1.6", "3.3"),
    # the food cluster in Latvia: food technology, cereals and berries, fermentation, food safety
    "Jelgavas Pārtikas Tehnoloģiju Augstskola": ("2.11", "4.2", "1.6"),
    "Valmieras Lauksaimniecības Koledža": ("4.1", "4.2", "5.3"),
    "Baltijas Pārtikas Zinātņu Akadēmija": ("2.11", "3.3", "5.2"),
    "Pārtikas Drošības Pētniecības Centrs": ("3.3", "1.4", "1.6"),
    "Baltijas Fermentācijas Institūts": ("2.9", "1.6"),
    "Ogulāju Pētījumu Stacija": ("4.1", "4.4"),
    # the Spanish electronics association
    "Universitat Tècnica del Vallès": ("2.2", "2.3"),
    "Escuela Superior de Ingeniería Electrónica de Barcelona": ("2.2", "1.2"),
    "Universidad Politécnica del Mediterráneo": ("2.2", "2.3", "2.10"),
    "Centre Tecnològic d'Electrònica Aplicada": ("2.2", "2.6"),
    "Instituto de Microsistemas de Barcelona": ("2.10", "2.2"),
    # the demo's knowledge node (config/demo/knowledge/bvu), as an associate member of the Latvian cluster
    "Bekaa Valley University, Food Technology Centre": ("2.11", "2.5", "2.9"),
}

#: kind -> (share with a website, share of those with a ROR-like id).
IDENTITY_SHARES = {"university": (0.9, 0.6), "research_centre": (0.7, 0.4)}
#: Crockford's base 32, as ROR ids use it (no i, l, o, u).
ROR_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
#: Every invented ROR-like id ends in 00, a checksum no real ROR id has (ROR's is 98 - (100 n mod 97), 02 to 98):
#: they look like ROR ids and can never name a real organisation.
ROR_CHECKSUM = "00"
#: The demo's knowledge node, Bekaa Valley University (config/demo/knowledge/bvu/knowledge.yaml): a faculty of it
#: is a member of QOOT, a centre of it an associate member of the Latvian food cluster; the same ROR id links the
#: three (the same organisation seen three times).
BVU_ROR = "0b7vq2x00"
#: Members whose identity is given, not drawn: name -> (ROR id, website).
FIXED_IDENTITY = {
    "Bekaa Valley University, Faculty of Agronomy": (BVU_ROR, "https://bvu.example.org/agronomy"),
    "Bekaa Valley University, Food Technology Centre": (BVU_ROR, "https://bvu.example.org/food-technology"),
}
#: Members added after the drawn ones, outside every random stream (node -> rows without their id, which follows the
#: drawn members' numbering).
ASSOCIATES = {
    "lv-food": ({
        "kind": "university", "name": "Bekaa Valley University, Food Technology Centre", "city": "Zahle",
        "size": "large", "activities": "nace-rev2:72.19;nace-rev2:85.42",
        "offers": "Joint research on fermentation and shelf life of traditional foods [nace-rev2:72.19] | "
                  "Exchange of food technology students [nace-rev2:85.42]",
        "needs": "Partners for Horizon Europe food projects", "export_markets": "", "status": "active",
        "last_active": "2026-03-12", "visibility": "public",
    },),
}

# --- generation -----------------------------------------------------------------------------------------------------

_TRAILING_CODES = re.compile(r"\s*\[([^\[\]]+)\]\s*$")


def load_concordance() -> dict[str, str]:
    """NACE Rev. 2 class -> ISIC Rev. 4 class, for the classes both taxonomy files know."""
    with ISIC_CSV.open(encoding="utf-8", newline="") as fh:
        isic_classes = {row["code"] for row in csv.DictReader(fh) if row["level"] == "4"}
    with NACE_CSV.open(encoding="utf-8", newline="") as fh:
        return {row["code"]: row["isic4"] for row in csv.DictReader(fh)
                if row["level"] == "4" and row["isic4"] in isic_classes}


def load_ford() -> set[str]:
    with FORD_CSV.open(encoding="utf-8", newline="") as fh:
        return {row["code"] for row in csv.DictReader(fh)}


def split_codes(text: str) -> tuple[str, list[str]]:
    """``"Olive oil [10.41;01.26]"`` -> ``("Olive oil", ["10.41", "01.26"])``."""
    match = _TRAILING_CODES.search(text)
    if not match:
        return text, []
    return text[:match.start()], match.group(1).split(";")


def check_roles(concordance: dict[str, str]) -> None:
    """Refuse to write anything if a role uses a code the taxonomies do not know or its counts are off."""
    for node, (_country, roles) in NODES.items():
        for role in roles:
            used = list(role.codes)
            for item in role.offers + role.needs:
                used += split_codes(item)[1]
            unknown = [code for code in used if code not in concordance]
            if unknown:
                raise SystemExit(f"{node}: unknown NACE Rev. 2 class(es) {unknown} in role {role.names[0]!r}")
            fixed = [n for n in role.names if isinstance(n, tuple) or "{" not in n]
            if len(fixed) == len(role.names) and len(fixed) < role.count:
                raise SystemExit(f"{node}: role {role.names[0]!r} has fewer names than members")
            if role.kind in KNOWLEDGE_KINDS:
                missing = [n[0] if isinstance(n, tuple) else n for n in role.names
                           if (n[0] if isinstance(n, tuple) else n) not in RESEARCH]
                if missing:
                    raise SystemExit(f"{node}: no research domains (RESEARCH) for {missing}")
    ford = load_ford()
    for name, domains in RESEARCH.items():
        unknown = [code for code in domains if code not in ford]
        if unknown:
            raise SystemExit(f"RESEARCH: unknown FORD code(s) {unknown} for {name!r}")
    for node, rows in ASSOCIATES.items():
        for row in rows:
            if row["name"] not in RESEARCH:
                raise SystemExit(f"{node}: no research domains (RESEARCH) for the associate {row['name']!r}")


def render_codes(codes: list[str], scheme: str, concordance: dict[str, str]) -> list[str]:
    out: list[str] = []
    for code in codes:
        token = f"isic-rev4:{concordance[code]}" if scheme == "isic-rev4" else f"nace-rev2:{code}"
        if token not in out:
            out.append(token)
    return out


def render_item(text: str, city: str, scheme: str, concordance: dict[str, str]) -> str:
    body, codes = split_codes(text.format(city=city))
    return f"{body} [{';'.join(render_codes(codes, scheme, concordance))}]" if codes else body


def pick_name(role: Role, country: Country, rng: random.Random, taken: set[str]) -> tuple[str, str]:
    """An unused name and its city."""
    cities = role.cities or country.cities
    for _ in range(500):
        template = rng.choice(role.names)
        if isinstance(template, tuple):
            name, city = template
        else:
            city = rng.choice(cities)
            name = template.format(family=rng.choice(country.families), city=city,
                                   word=rng.choice(role.words) if role.words else "")
        if name.casefold() in taken:
            continue
        taken.add(name.casefold())
        if role.legal and role.kind in COMPANY_KINDS:
            name = rng.choice(country.large_forms if role.kind == "large_company" else country.forms).format(name)
        return name, city
    raise SystemExit(f"no unused name left for role {role.names[0]!r}")


def pick_markets(role: Role, country: Country, rng: random.Random) -> list[str]:
    chance, fewest, most = EXPORTS.get(role.kind, (0.0, 0, 0))
    if not role.exports or rng.random() >= chance:
        return []
    pool = list(country.markets)
    chosen = []
    for _ in range(rng.randint(fewest, most)):
        weights = [len(pool) - i for i in range(len(pool))]  # nearby and usual markets first
        chosen.append(pool.pop(rng.choices(range(len(pool)), weights)[0]))
    return chosen


def random_date(span: tuple[dt.date, dt.date], rng: random.Random) -> dt.date:
    return dt.date.fromordinal(rng.randint(span[0].toordinal(), span[1].toordinal()))


def pick_activities(role: Role, offers: list[str], rng: random.Random) -> list[str]:
    """1 to 3 classes: the role's main class, those of the member's offers, then maybe others of the role."""
    codes = [role.codes[0]]
    for offer in offers:
        codes += [code for code in split_codes(offer)[1] if code not in codes]
    others = [code for code in role.codes if code not in codes]
    wanted = rng.choices((1, 2, 3), (40, 40, 20))[0]
    if len(codes) < wanted:
        codes += rng.sample(others, min(wanted - len(codes), len(others)))
    return codes[:3]


def pick_needs(role: Role, rng: random.Random) -> list[str]:
    needs: list[str] = []
    for _ in range(rng.choices((0, 1, 2), (25, 50, 25))[0]):
        pool = role.needs if role.needs and rng.random() < 0.75 else GENERIC_NEEDS
        need = rng.choice(pool)
        if need not in needs:
            needs.append(need)
    return needs


def slug(text: str) -> str:
    """``École d'Ingénieurs de Tanger`` -> ``ecole-d-ingenieurs-de-tanger``, for invented web addresses."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)
    out = ""
    for word in words:  # whole words, within a DNS label's 63 characters
        if len(out) + len(word) + 1 > 50:
            break
        out = f"{out}-{word}" if out else word
    return out


def knowledge_columns(member_id: str, kind: str, name: str) -> dict[str, str]:
    """Research domains, website and ROR-like id of a knowledge member (empty for other kinds), drawn from a
    stream of the member's own so that adding them changed no other column."""
    if kind not in KNOWLEDGE_KINDS:
        return {"research_domains": "", "ror": "", "website": ""}
    domains = ";".join(RESEARCH[name])
    if name in FIXED_IDENTITY:
        ror, website = FIXED_IDENTITY[name]
        return {"research_domains": domains, "ror": ror, "website": website}
    rng = random.Random(f"{SEED}:{member_id}:identity")
    with_website, with_ror = IDENTITY_SHARES[kind]
    website = ror = ""
    if rng.random() < with_website:
        website = f"https://{slug(name)}.example.org"
        if rng.random() < with_ror:
            ror = "0" + "".join(rng.choice(ROR_ALPHABET) for _ in range(6)) + ROR_CHECKSUM
    return {"research_domains": domains, "ror": ror, "website": website}


def contact_columns(member_id: str, name: str) -> dict[str, str]:
    """A contact e-mail at an invented address (the reserved .example domain), for most members; drawn from a
    stream of the member's own, so that adding it changed no other column."""
    rng = random.Random(f"{SEED}:{member_id}:contact")
    return {"email": f"contact@{slug(name)}.example" if rng.random() < SHARE_WITH_EMAIL else ""}


def generate_node(node: str, country: Country, roles: tuple[Role, ...], rng: random.Random,
                  concordance: dict[str, str]) -> list[dict]:
    slots = [role for role in roles for _ in range(role.count)]
    rng.shuffle(slots)  # members joined over time, not role by role
    n = len(slots)
    dormant = set(rng.sample(range(n), round(n * SHARE_DORMANT)))
    restricted = rng.sample(range(n), round(n * SHARE_FEDERATION) + round(n * SHARE_PRIVATE))
    private = set(restricted[:round(n * SHARE_PRIVATE)])
    isic = set(rng.sample(range(n), round(n * country.isic_share)))
    taken: set[str] = set()
    rows = []
    for index, role in enumerate(slots):
        visibility = "private" if index in private else "federation" if index in restricted else "public"
        rows.append(draw_member(node, index, role, country, rng, concordance, taken,
                                "isic-rev4" if index in isic else "nace-rev2", index in dormant, visibility))
    for row in ASSOCIATES.get(node, ()):
        member_id = f"{node}-m{len(rows) + 1:03d}"
        rows.append({"id": member_id, **row, **knowledge_columns(member_id, row["kind"], row["name"]),
                     **contact_columns(member_id, row["name"])})
    # Members who joined later: drawn from a stream of their own, so every row above stays as it was.
    grow = random.Random(f"{SEED}:{node}:growth")
    companies = [role for role in roles if role.kind in COMPANY_KINDS and all(isinstance(n, str) for n in role.names)
                 and any("{" in n for n in role.names)  # (roles of named organisations have no name left to give)
                 for _ in range(role.count)]
    for _ in range(GROWTH.get(node, 0)):
        draw = grow.random()
        visibility = "private" if draw < SHARE_PRIVATE else "federation" if draw < SHARE_PRIVATE + SHARE_FEDERATION \
            else "public"
        scheme = "isic-rev4" if grow.random() < country.isic_share else "nace-rev2"
        rows.append(draw_member(node, len(rows), grow.choice(companies), country, grow, concordance, taken, scheme,
                                grow.random() < SHARE_DORMANT, visibility))
    return rows


def draw_member(node: str, index: int, role: Role, country: Country, rng: random.Random,
                concordance: dict[str, str], taken: set[str], scheme: str, is_dormant: bool, visibility: str) -> dict:
    """One member of ``role``, the ``index``-th of its node (from 0), drawn from ``rng`` (the draws in the order
    the first version of this script made them, so the files stay the same)."""
    name, city = pick_name(role, country, rng, taken)
    offers = rng.sample(role.offers, min(rng.choices((1, 2), (60, 40))[0], len(role.offers)))
    codes = pick_activities(role, offers, rng)
    sizes, weights = SIZE_MIX[role.kind]
    row = {
        "id": f"{node}-m{index + 1:03d}",
        "kind": role.kind,
        "name": name,
        "city": city,
        "size": rng.choices(sizes, weights)[0],
        "activities": ";".join(render_codes(codes, scheme, concordance)),
        "offers": " | ".join(render_item(o, city, scheme, concordance) for o in offers),
        "needs": " | ".join(render_item(o, city, scheme, concordance) for o in pick_needs(role, rng)),
        "export_markets": ";".join(pick_markets(role, country, rng)),
        "status": "dormant" if is_dormant else "active",
        "last_active": random_date(DORMANT_DATES if is_dormant else ACTIVE_DATES, rng).isoformat(),
        "visibility": visibility,
    }
    row.update(knowledge_columns(row["id"], role.kind, name))
    row.update(contact_columns(row["id"], name))
    return row


def main() -> None:
    concordance = load_concordance()
    check_roles(concordance)
    federation = yaml.safe_load((DEMO / "federation.yaml").read_text(encoding="utf-8"))
    for entry in federation["clusters"]:
        node, folder = entry["node"], DEMO / entry["path"]
        country, roles = NODES[node]
        rng = random.Random(f"{SEED}:{node}")  # one stream per node: editing one cluster leaves the others alone
        cluster = yaml.safe_load((folder / "cluster.yaml").read_text(encoding="utf-8"))
        if cluster["id"] != node or cluster["country"] != country.code:
            raise SystemExit(f"{folder / 'cluster.yaml'}: expected id {node} and country {country.code}")
        rows = generate_node(node, country, roles, rng, concordance)
        with (folder / "members.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        print(f"{node:15} {len(rows):4d} members -> {(folder / 'members.csv').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
