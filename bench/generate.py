#!/usr/bin/env python3
"""A synthetic finhealthkg knowledge graph of any size, for benchmarks: the project's own
ontology, its own shapes, its own data, and N-Triples of generated things that conform to them.

    .venv/bin/python bench/generate.py --triples 1000000 --seed 1 --out /tmp/kg-1m
    .venv/bin/finhealthkg validate --root /tmp/kg-1m
    .venv/bin/finhealthkg build --root /tmp/kg-1m

OUT becomes a project root that `finhealthkg validate` and `build` accept: OUT/ontology/ and
OUT/shapes/ are copies of the repository's, OUT/data/ holds the repository's data files (the
real ministry, strategy, national centres, the Finnish Biobank Cooperative FINBB, the FICAN
network, schemes, periods, places and sources, which the generated things link to) and
OUT/data/generated.ttl, written as N-Triples lines (N-Triples is Turtle), so that ontology +
data (the knowledge graph that validate counts; data/catalog.ttl is kept apart) hold
--triples triples (up to three fewer).

What is generated, region by region (a region is the unit; each one cites only itself and
regions before it, so the graph is complete wherever the generator stops):

  sources     5 per region (prov:Entity: title, label, page or a description)
  city        1 per region (schema:City in place:finland)
  university, university of applied sciences, hospital district
              1 each per region; a university is sometimes a member of Neurocenter Finland
  university hospital, regional cancer centre
              in half of the regions; the centre is part of the real FICAN network
              (organization:national-cancer-centre), hosted by the hospital
  biobanks    3-7 per region, members of organization:finnish-biobank-cooperative (stated
              both ways), founded and owned by the region's universities and hospital
              districts (sometimes an earlier region's), registration date, homepage; most
              with a sample-count figure (some approximate) and an org:Membership in the
              cooperative whose period begins on the date they joined (a period and an instant)
  campus network
              in 60 % of the regions: founders, members (stated both ways), some with an
              org:Membership from a year (the shared periods since-YYYY, the real ones reused)

Then biobanks of random earlier regions until the next one would not fit, then small
supplementary sources to within three triples of the target. Everything is a pure function of
--seed and --triples (random.Random(seed), names hashed from the seed and an index, no sets,
no clock): the same arguments write the same bytes. Lines are written region by region and
nothing is kept of a region once written, so memory stays flat at any size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = ("ontology", "shapes", "data")
CATALOG_FILE = "catalog.ttl"  # kept apart from the knowledge graph (server/finhealthkg/pipeline/sources.py)
GENERATED_FILE = "generated.ttl"
MIN_GENERATED = 1000  # below this there is no room for a region

# --- terms ---------------------------------------------------------------------------------------

ID = "https://w3id.org/finhealthkg/id/"
FHKG = "https://w3id.org/finhealthkg/def/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
ORG = "http://www.w3.org/ns/org#"
SCHEMA = "https://schema.org/"
TIME = "http://www.w3.org/2006/time#"
FOAF = "http://xmlns.com/foaf/0.1/"
PROV = "http://www.w3.org/ns/prov#"
ADMS = "http://www.w3.org/ns/adms#"

A = f"<{RDF}type>"
LABEL = f"<{RDFS}label>"
PREF_LABEL = f"<{SKOS}prefLabel>"
DESCRIPTION = f"<{DCT}description>"
SOURCE = f"<{DCT}source>"
TITLE = f"<{DCT}title>"
SUBJECT = f"<{DCT}subject>"
PAGE = f"<{FOAF}page>"
HOMEPAGE = f"<{FOAF}homepage>"
CLASSIFICATION = f"<{ORG}classification>"
MEMBER_OF = f"<{ORG}memberOf>"
HAS_MEMBER = f"<{ORG}hasMember>"
MEMBER = f"<{ORG}member>"
ORGANIZATION = f"<{ORG}organization>"
MEMBER_DURING = f"<{ORG}memberDuring>"
LOCATION = f"<{SCHEMA}location>"
CONTAINED_IN = f"<{SCHEMA}containedInPlace>"
FOUNDER = f"<{SCHEMA}founder>"
FOUNDING_DATE = f"<{SCHEMA}foundingDate>"
VALUE = f"<{SCHEMA}value>"
UNIT_TEXT = f"<{SCHEMA}unitText>"
STATUS = f"<{ADMS}status>"
HAS_BEGINNING = f"<{TIME}hasBeginning>"
IN_DATE = f"<{TIME}inXSDDate>"
IN_YEAR = f"<{TIME}inXSDgYear>"
OWNED_BY = f"<{FHKG}ownedBy>"
HOSTED_BY = f"<{FHKG}hostedBy>"
COLLABORATES = f"<{FHKG}collaboratesWith>"
PART_OF_NETWORK = f"<{FHKG}partOfNetwork>"
REGISTRATION_DATE = f"<{FHKG}registrationDate>"
SAMPLE_COUNT = f"<{FHKG}sampleCount>"
IS_APPROXIMATE = f"<{FHKG}isApproximate>"
NETWORK_ROLE = f"<{FHKG}networkRole>"
ESTABLISHMENT_PERIOD = f"<{FHKG}establishmentPeriod>"

FORMAL_ORGANIZATION = f"<{ORG}FormalOrganization>"
BIOBANK = f"<{FHKG}Biobank>"
REGIONAL_CENTRE = f"<{FHKG}RegionalCentre>"
CAMPUS_NETWORK = f"<{FHKG}CampusNetwork>"
MEMBERSHIP = f"<{ORG}Membership>"
CITY = f"<{SCHEMA}City>"
QUANTITATIVE_VALUE = f"<{SCHEMA}QuantitativeValue>"
INTERVAL = f"<{TIME}Interval>"
INSTANT = f"<{TIME}Instant>"
ENTITY = f"<{PROV}Entity>"


def thing(kind: str, slug: str) -> str:
    return f"<{ID}{kind}/{slug}>"


# The real things of data/ that generated things link to.
FINLAND = thing("place", "finland")
COOPERATIVE = thing("organization", "finnish-biobank-cooperative")
CANCER_NETWORK = thing("organization", "national-cancer-centre")
NEUROCENTER = thing("organization", "neurocenter-finland")
ESTABLISHMENT_2021_2023 = thing("period", "2021-2023")
ESTABLISHED = thing("status", "established")
IN_PREPARATION = thing("status", "in-preparation")
BIOBANKING = thing("field", "biobanking")
CANCER = thing("field", "cancer")
KIND_UNIVERSITY = thing("organization-kind", "university")
KIND_UAS = thing("organization-kind", "university-of-applied-sciences")
KIND_HOSPITAL_DISTRICT = thing("organization-kind", "hospital-district")
KIND_UNIVERSITY_HOSPITAL = thing("organization-kind", "university-hospital")
COOPERATIVE_NAME = ("the Finnish Biobank Cooperative", "Biopankkien Osuuskunta Suomi")

# Years for which periods "since YYYY" exist: the real data has since-2017 and since-2019 and
# the instants 2017, 2019, 2021, 2023; the generator writes the others once, at the start.
YEARS = range(2010, 2027)
REAL_PERIOD_YEARS = (2017, 2019)
REAL_INSTANT_YEARS = (2017, 2019, 2021, 2023)

SOURCES_PER_REGION = 5
DOCUMENTS = ("annual report", "register extract", "press release", "web page", "research article")
DOCUMENTS_FI = ("vuosikertomus", "rekisteriote", "tiedote", "verkkosivu", "tutkimusartikkeli")
REGION_SHARE = 0.85  # regions fill this share of the budget; biobanks of random regions the rest


# --- literals ------------------------------------------------------------------------------------

def _escape(text: str) -> str:
    if '"' in text or "\\" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return text


def lang(text: str, tag: str) -> str:
    return f'"{_escape(text)}"@{tag}'


def plain(text: str) -> str:
    return f'"{_escape(text)}"'


def typed(lexical: str, datatype: str) -> str:
    return f'"{lexical}"^^<{XSD}{datatype}>'


def finnish_date(day: dt.date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


# --- names: pseudo-words hashed from the seed and an index (no table kept) -----------------------

MASK = (1 << 64) - 1
ONSETS = ("k", "l", "m", "n", "p", "r", "s", "t", "v", "h", "j", "", "k", "s", "t", "l")
NUCLEI = ("a", "e", "i", "o", "u", "y", "ä", "ö", "aa", "ai", "ei", "uu", "a", "i", "o", "e")
CODAS = ("", "", "", "", "n", "l", "s", "t", "r", "", "", "n", "", "", "", "")
ASCII = str.maketrans({"ä": "a", "ö": "o", "å": "a"})
VOWELS = "aeiouyäö"
NAMESPACE_REGION, NAMESPACE_BIOBANK = 1, 2


def _mix(value: int) -> int:
    """splitmix64: a well-spread 64-bit hash of an integer."""
    value = (value + 0x9E3779B97F4A7C15) & MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK
    return value ^ (value >> 31)


def pseudo_word(seed: int, namespace: int, index: int) -> str:
    """A capitalised Finnish-sounding word of two to four syllables, the same for the same
    seed, namespace and index."""
    bits = _mix(_mix(_mix(seed & MASK) ^ namespace) ^ index)
    syllables = 2 + (bits & 3) % 3
    bits >>= 2
    parts = []
    for _ in range(syllables):
        parts.append(ONSETS[bits & 15] + NUCLEI[(bits >> 4) & 15])
        bits >>= 8
    parts.append(CODAS[bits & 15])
    return "".join(parts).capitalize()


def slug_of(word: str) -> str:
    return word.lower().translate(ASCII)


def genitive(word: str) -> str:
    """A Finnish-looking genitive: Kalora -> Kaloran, Tesin -> Tesinin."""
    return word + "n" if word[-1] in VOWELS else word + "in"


# --- the generator -------------------------------------------------------------------------------

Lines = list[str]


class Region:
    """The names and IRIs of region r, computed from the seed and r alone."""

    __slots__ = ("index", "word", "slug", "city", "university", "uas", "district", "hospital",
                 "campus", "centre")

    def __init__(self, seed: int, index: int) -> None:
        self.index = index
        self.word = pseudo_word(seed, NAMESPACE_REGION, index)
        base = f"{slug_of(self.word)}-{index}"
        self.slug = base
        self.city = thing("place", base)
        self.university = thing("organization", f"university-of-{base}")
        self.uas = thing("organization", f"{base}-university-of-applied-sciences")
        self.district = thing("organization", f"{base}-hospital-district")
        self.hospital = thing("organization", f"{base}-university-hospital")
        self.campus = thing("organization", f"health-campus-{base}")
        self.centre = thing("organization", f"fican-{base}")

    def source(self, k: int) -> str:
        return thing("source", f"{self.slug}-{DOCUMENTS[k % len(DOCUMENTS)].replace(' ', '-')}-{k + 1}")


class Generator:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.counts: dict[str, int] = {}
        self.biobanks = 0  # global index of the next biobank
        self.written = 0  # lines written to generated.ttl

    def count(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1

    # --- shared pieces ---------------------------------------------------------------------

    def labels(self, out: Lines, subject: str, en: str, fi: str, sv: str | None = None) -> None:
        names = [lang(en, "en"), lang(fi, "fi")] + ([lang(sv, "sv")] if sv is not None else [])
        for name in names:
            out.append(f"{subject} {LABEL} {name} .\n")
        for name in names:
            out.append(f"{subject} {PREF_LABEL} {name} .\n")

    def describe(self, out: Lines, subject: str, en: str, fi: str) -> None:
        out.append(f"{subject} {DESCRIPTION} {lang(en, 'en')} .\n")
        out.append(f"{subject} {DESCRIPTION} {lang(fi, 'fi')} .\n")

    def cite(self, out: Lines, subject: str, region: Region, most: int = 3) -> None:
        rng = self.rng
        for k in rng.sample(range(SOURCES_PER_REGION), rng.randint(1, most)):
            out.append(f"{subject} {SOURCE} {region.source(k)} .\n")

    def date_between(self, first: dt.date, last: dt.date) -> dt.date:
        return dt.date.fromordinal(self.rng.randint(first.toordinal(), last.toordinal()))

    def organization(self, out: Lines, subject: str, region: Region, names: tuple[str, str, str],
                     description: tuple[str, str], classification: str, counted: str) -> None:
        out.append(f"{subject} {A} {FORMAL_ORGANIZATION} .\n")
        self.labels(out, subject, *names)
        self.describe(out, subject, *description)
        out.append(f"{subject} {CLASSIFICATION} {classification} .\n")
        out.append(f"{subject} {LOCATION} {region.city} .\n")
        out.append(f"{subject} {HOMEPAGE} <https://example.org/synthetic/{subject[len(ID) + 1:-1]}> .\n")
        self.cite(out, subject, region)
        self.count(counted)

    # --- fixed part: periods since YYYY --------------------------------------------------------

    def periods(self, out: Lines) -> None:
        for year in YEARS:
            if year not in REAL_INSTANT_YEARS:
                instant = thing("instant", str(year))
                out.append(f"{instant} {A} {INSTANT} .\n")
                self.labels(out, instant, str(year), str(year), str(year))
                self.describe(out, instant, f"The year {year}.", f"Vuosi {year}.")
                out.append(f"{instant} {IN_YEAR} {typed(str(year), 'gYear')} .\n")
                self.count("instant")
            if year not in REAL_PERIOD_YEARS:
                period = thing("period", f"since-{year}")
                out.append(f"{period} {A} {INTERVAL} .\n")
                self.labels(out, period, f"since {year}", f"vuodesta {year}", f"sedan {year}")
                self.describe(out, period, f"From {year} on, open-ended (synthetic).",
                              f"Vuodesta {year} alkaen, päättymättä (synteettinen).")
                out.append(f"{period} {HAS_BEGINNING} {thing('instant', str(year))} .\n")
                self.count("period")

    # --- a region ----------------------------------------------------------------------------

    def region(self, out: Lines, index: int) -> None:
        rng = self.rng
        region = Region(self.seed, index)
        word, gen = region.word, genitive(region.word)
        for k in range(SOURCES_PER_REGION):
            self.source(out, region.source(k), f"{word} {DOCUMENTS[k]} {k + 1} (synthetic)",
                        page=f"https://example.org/synthetic/sources/{region.slug}/{k + 1}"
                        if rng.random() < 0.8 else None)
        city = region.city
        out.append(f"{city} {A} {CITY} .\n")
        self.labels(out, city, word, word, word + "by")
        self.describe(out, city, "A city in Finland (synthetic).", "Kaupunki Suomessa (synteettinen).")
        out.append(f"{city} {CONTAINED_IN} {FINLAND} .\n")
        self.cite(out, city, region, most=2)
        self.count("city")

        self.organization(
            out, region.university, region,
            (f"University of {word}", f"{gen} yliopisto", f"{word} universitet"),
            (f"A synthetic university in {word} that founds and owns biobanks of its region.",
             f"Synteettinen yliopisto, joka perustaa ja omistaa alueensa biopankkeja ({word})."),
            KIND_UNIVERSITY, "university")
        if rng.random() < 0.15:
            out.append(f"{region.university} {MEMBER_OF} {NEUROCENTER} .\n")
            out.append(f"{NEUROCENTER} {HAS_MEMBER} {region.university} .\n")
        self.organization(
            out, region.uas, region,
            (f"{word} University of Applied Sciences", f"{gen} ammattikorkeakoulu", f"Yrkeshögskolan {word}"),
            (f"A synthetic university of applied sciences in {word}.",
             f"Synteettinen ammattikorkeakoulu ({word})."),
            KIND_UAS, "university of applied sciences")
        self.organization(
            out, region.district, region,
            (f"{word} Hospital District", f"{gen} sairaanhoitopiiri", f"{word} sjukvårdsdistrikt"),
            (f"A synthetic hospital district around {word}.", f"Synteettinen sairaanhoitopiiri ({word})."),
            KIND_HOSPITAL_DISTRICT, "hospital district")

        has_hospital = rng.random() < 0.5
        if has_hospital:
            self.organization(
                out, region.hospital, region,
                (f"{word} University Hospital", f"{gen} yliopistollinen sairaala", f"{word} universitetssjukhus"),
                (f"The synthetic university hospital of {word}.", f"Synteettinen yliopistosairaala ({word})."),
                KIND_UNIVERSITY_HOSPITAL, "university hospital")
            out.append(f"{region.hospital} {OWNED_BY} {region.district} .\n")
            self.centre(out, region)

        biobanks = [self.biobank(out, region) for _ in range(rng.randint(3, 7))]
        if rng.random() < 0.6:
            self.campus(out, region, has_hospital, biobanks)

    def source(self, out: Lines, subject: str, title: str, page: str | None, description: bool = False) -> None:
        out.append(f"{subject} {A} {ENTITY} .\n")
        out.append(f"{subject} {TITLE} {plain(title)} .\n")
        out.append(f"{subject} {LABEL} {plain(title)} .\n")
        if page is not None:
            out.append(f"{subject} {PAGE} <{page}> .\n")
        if page is None or description:
            out.append(f"{subject} {DESCRIPTION} "
                       f"{lang('A synthetic source for benchmarks; it has no address.', 'en')} .\n")
        self.count("source")

    def centre(self, out: Lines, region: Region) -> None:
        rng = self.rng
        centre, word = region.centre, region.word
        out.append(f"{centre} {A} {REGIONAL_CENTRE} .\n")
        self.labels(out, centre, f"FICAN {word}", f"{genitive(word)} syöpäkeskus", f"FICAN {word}")
        self.describe(out, centre,
                      f"The synthetic regional cancer centre of {word}, at {word} University Hospital, "
                      "one of the regional centres of the national Cancer Center network.",
                      f"Synteettinen alueellinen syöpäkeskus ({word}), osa kansallista syöpäkeskusverkostoa.")
        out.append(f"{centre} {STATUS} {ESTABLISHED if rng.random() < 0.9 else IN_PREPARATION} .\n")
        out.append(f"{centre} {FOUNDING_DATE} {typed(str(rng.randint(2018, 2025)), 'gYear')} .\n")
        out.append(f"{centre} {PART_OF_NETWORK} {CANCER_NETWORK} .\n")
        out.append(f"{centre} {HOSTED_BY} {region.hospital} .\n")
        out.append(f"{centre} {OWNED_BY} {region.district} .\n")
        out.append(f"{centre} {OWNED_BY} {region.university} .\n")
        out.append(f"{centre} {COLLABORATES} {region.university} .\n")
        out.append(f"{centre} {SUBJECT} {CANCER} .\n")
        out.append(f"{centre} {LOCATION} {region.city} .\n")
        if rng.random() < 0.5:
            out.append(f"{centre} {ESTABLISHMENT_PERIOD} {ESTABLISHMENT_2021_2023} .\n")
        out.append(f"{centre} {HOMEPAGE} <https://example.org/synthetic/fican-{region.slug}> .\n")
        self.cite(out, centre, region)
        self.count("regional centre")

    def biobank(self, out: Lines, region: Region) -> str:
        """A biobank of the region, a member of FINBB; returns its IRI."""
        rng = self.rng
        number = self.biobanks
        self.biobanks += 1
        name = pseudo_word(self.seed, NAMESPACE_BIOBANK, number)
        slug = f"{slug_of(name)}-biobank-{number}"
        bank = thing("organization", slug)
        en, fi = f"{name} Biobank", f"{name} Biopankki"
        fi_of = f"{name} Biopankin"  # the genitive: "of the biobank"
        out.append(f"{bank} {A} {BIOBANK} .\n")
        self.labels(out, bank, en, fi, en if rng.random() < 0.4 else None)
        registered = self.date_between(dt.date(2014, 3, 10), dt.date(2025, 12, 31))
        self.describe(out, bank,
                      f"A synthetic biobank of the {region.word} region, registered on {registered.isoformat()}.",
                      f"Synteettinen biopankki ({region.word}), rekisteröity {finnish_date(registered)}.")
        out.append(f"{bank} {STATUS} {ESTABLISHED} .\n")
        out.append(f"{bank} {REGISTRATION_DATE} {typed(registered.isoformat(), 'date')} .\n")

        founders = []
        if rng.random() < 0.8:
            founders.append(region.university)
        if rng.random() < 0.9 or not founders:
            founders.append(region.district)
        if rng.random() < 0.2:
            founders.append(region.uas)
        if region.index and rng.random() < 0.3:  # a founder of an earlier region
            other = Region(self.seed, rng.randrange(region.index))
            founders.append(other.district if rng.random() < 0.5 else other.university)
        for founder in founders:
            out.append(f"{bank} {FOUNDER} {founder} .\n")
        for owner in rng.sample(founders, rng.randint(1, len(founders))):
            out.append(f"{bank} {OWNED_BY} {owner} .\n")

        out.append(f"{bank} {MEMBER_OF} {COOPERATIVE} .\n")
        out.append(f"{COOPERATIVE} {HAS_MEMBER} {bank} .\n")
        if rng.random() < 0.9:
            out.append(f"{bank} {LOCATION} {region.city} .\n")
        out.append(f"{bank} {SUBJECT} {BIOBANKING} .\n")
        out.append(f"{bank} {HOMEPAGE} <https://example.org/synthetic/{slug}> .\n")
        self.cite(out, bank, region)
        self.count("biobank")

        if rng.random() < 0.85:
            self.samples(out, bank, slug, en, fi_of, region)
        if rng.random() < 0.7:
            joined = self.date_between(registered, dt.date(2026, 6, 30))
            self.cooperative_membership(out, bank, slug, en, fi, fi_of, joined, region)
        return bank

    def samples(self, out: Lines, bank: str, slug: str, en: str, fi_of: str, region: Region) -> None:
        rng = self.rng
        figure = thing("figure", f"{slug}-samples")
        approximate = rng.random() < 0.4
        value = rng.randint(1_000, 2_000_000)
        if approximate:
            digits = len(str(value)) - 1
            value = max(1, round(value / 10 ** digits)) * 10 ** digits
            words_en, words_fi = f"Approximately {value:,} samples", f"Noin {value:,} näytettä"
        else:
            words_en, words_fi = f"{value:,} samples", f"{value:,} näytettä"
        out.append(f"{bank} {SAMPLE_COUNT} {figure} .\n")
        out.append(f"{figure} {A} {QUANTITATIVE_VALUE} .\n")
        self.labels(out, figure, f"Samples stored in {en}", f"{fi_of} näytteet")
        self.describe(out, figure, f"{words_en}, as the synthetic source says.",
                      f"{words_fi} synteettisen lähteen mukaan.".replace(",", " "))
        out.append(f"{figure} {VALUE} {typed(str(value), 'integer')} .\n")
        out.append(f"{figure} {UNIT_TEXT} {plain('samples')} .\n")
        out.append(f"{figure} {IS_APPROXIMATE} {typed('true' if approximate else 'false', 'boolean')} .\n")
        self.cite(out, figure, region, most=2)
        self.count("figure")

    def cooperative_membership(self, out: Lines, bank: str, slug: str, en: str, fi: str, fi_of: str,
                               joined: dt.date, region: Region) -> None:
        membership = thing("membership", f"{slug}-in-finnish-biobank-cooperative")
        period = thing("period", f"{slug}-membership")
        instant = thing("instant", f"{slug}-joined")
        coop_en, coop_fi = COOPERATIVE_NAME
        out.append(f"{membership} {A} {MEMBERSHIP} .\n")
        self.labels(out, membership, f"{en} in {coop_en}", f"{fi}, jäsenyys: {coop_fi}")
        out.append(f"{membership} {MEMBER} {bank} .\n")
        out.append(f"{membership} {ORGANIZATION} {COOPERATIVE} .\n")
        out.append(f"{membership} {MEMBER_DURING} {period} .\n")
        self.cite(out, membership, region, most=1)
        self.count("membership")

        out.append(f"{period} {A} {INTERVAL} .\n")
        self.labels(out, period, f"since {joined.isoformat()}", f"{finnish_date(joined)} alkaen",
                    f"sedan {joined.isoformat()}")
        self.describe(out, period, f"The membership of {en} in {coop_en}, open-ended (synthetic).",
                      f"{fi_of} jäsenyys, päättymättä (synteettinen).")
        out.append(f"{period} {HAS_BEGINNING} {instant} .\n")
        self.cite(out, period, region, most=1)
        self.count("period")

        out.append(f"{instant} {A} {INSTANT} .\n")
        self.labels(out, instant, joined.isoformat(), finnish_date(joined))
        out.append(f"{instant} {DESCRIPTION} {lang(f'The day {en} joined {coop_en} (synthetic).', 'en')} .\n")
        out.append(f"{instant} {IN_DATE} {typed(joined.isoformat(), 'date')} .\n")
        self.count("instant")

    def campus(self, out: Lines, region: Region, has_hospital: bool, biobanks: list[str]) -> None:
        rng = self.rng
        campus, word = region.campus, region.word
        founded = rng.randint(2010, 2024)
        out.append(f"{campus} {A} {CAMPUS_NETWORK} .\n")
        self.labels(out, campus, f"Health Campus {word}", f"Terveyskampus {word}", f"Hälsocampus {word}")
        self.describe(out, campus,
                      f"A synthetic network of the health-sector universities, hospitals and biobanks of {word}.",
                      f"Synteettinen verkosto: {genitive(word)} terveysalan korkeakoulut, sairaalat ja biopankit.")
        out.append(f"{campus} {NETWORK_ROLE} "
                   f"{lang('A regional role in the national networks (synthetic).', 'en')} .\n")
        out.append(f"{campus} {NETWORK_ROLE} "
                   f"{lang('Alueellinen rooli kansallisissa verkostoissa (synteettinen).', 'fi')} .\n")
        out.append(f"{campus} {STATUS} {ESTABLISHED} .\n")
        out.append(f"{campus} {FOUNDING_DATE} {typed(str(founded), 'gYear')} .\n")
        founders = [region.university, region.district] + ([region.uas] if rng.random() < 0.7 else [])
        for founder in founders:
            out.append(f"{campus} {FOUNDER} {founder} .\n")
        members = founders + ([region.hospital] if has_hospital else [])
        members += rng.sample(biobanks, rng.randint(0, min(2, len(biobanks))))
        for member in members:
            out.append(f"{campus} {HAS_MEMBER} {member} .\n")
            out.append(f"{member} {MEMBER_OF} {campus} .\n")
            if rng.random() < 0.5:
                since = rng.randint(founded, 2026)
                local = member[len(ID) + len("organization/") + 1:-1]
                membership = thing("membership", f"{local}-in-health-campus-{region.slug}")
                out.append(f"{membership} {A} {MEMBERSHIP} .\n")
                self.labels(out, membership, f"Member of Health Campus {word} since {since}",
                            f"Terveyskampus {word}: jäsen vuodesta {since}")
                out.append(f"{membership} {MEMBER} {member} .\n")
                out.append(f"{membership} {ORGANIZATION} {campus} .\n")
                out.append(f"{membership} {MEMBER_DURING} {thing('period', f'since-{since}')} .\n")
                self.cite(out, membership, region, most=1)
                self.count("membership")
        out.append(f"{campus} {LOCATION} {region.city} .\n")
        out.append(f"{campus} {HOMEPAGE} <https://example.org/synthetic/health-campus-{region.slug}> .\n")
        self.cite(out, campus, region)
        self.count("campus network")


# --- counting the copied sources -----------------------------------------------------------------

def knowledge_triples(root: Path) -> int:
    """Distinct triples of ontology/*.ttl + data/*.ttl (without catalog.ttl) + data/*.trig: what
    `finhealthkg validate` counts."""
    import pyoxigraph

    triples = set()
    paths = sorted((root / "ontology").glob("*.ttl")) + sorted(
        p for p in (root / "data").glob("*.ttl") if p.name != CATALOG_FILE)
    for path in paths:
        for triple in pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.TURTLE):
            triples.add(triple)
    for path in sorted((root / "data").glob("*.trig")):
        for quad in pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.TRIG):
            triples.add(quad.triple)
    return len(triples)


# --- the command ---------------------------------------------------------------------------------

def prepare(out_dir: Path, *, force: bool) -> None:
    """OUT/ontology, OUT/shapes, OUT/data as copies of the repository's."""
    for part in PARTS:
        target = out_dir / part
        if target.exists():
            if not force:
                raise SystemExit(f"generate.py: {target} exists; use --force to replace it")
            shutil.rmtree(target)
    out_dir.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        shutil.copytree(REPO / part, out_dir / part,
                        ignore=shutil.ignore_patterns(GENERATED_FILE) if part == "data" else None)


def generate(path: Path, budget: int, seed: int) -> Generator:
    """Write `budget` N-Triples lines (up to three fewer) to `path`, streaming."""
    generator = Generator(seed)
    written = 0
    with path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as stream:
        def emit(lines: Lines) -> None:
            nonlocal written
            stream.write("".join(lines))
            written += len(lines)

        lines: Lines = []
        generator.periods(lines)
        emit(lines)
        regions = 0
        while written < REGION_SHARE * budget:
            lines, counts = [], dict(generator.counts)
            generator.region(lines, regions)
            if written + len(lines) > budget:
                generator.counts = counts
                break  # that region is not written: regions only cite earlier ones
            emit(lines)
            regions += 1
        if regions == 0:
            raise SystemExit(f"generate.py: {budget} generated triples leave no room for one region")
        while True:  # biobanks of random earlier regions
            lines, counts = [], dict(generator.counts)
            generator.biobank(lines, Region(seed, generator.rng.randrange(regions)))
            if written + len(lines) > budget:
                generator.counts = counts  # that biobank is not written
                break
            emit(lines)
        number = 0
        while budget - written >= 4:  # supplementary sources: 4 or 5 triples each
            remaining = budget - written
            lines = []
            generator.source(lines, thing("source", f"supplement-{number + 1}"),
                             f"Supplementary synthetic source {number + 1}",
                             page=f"https://example.org/synthetic/sources/supplement/{number + 1}",
                             description=remaining % 4 != 0 and remaining >= 5)
            emit(lines)
            number += 1
        generator.counts["region"] = regions
    generator.written = written
    return generator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triples", type=int, required=True,
                        help="triples of ontology + data to reach (10000, 1000000, ...)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed and size write the same bytes")
    parser.add_argument("--out", type=Path, required=True, help="project root to create")
    parser.add_argument("--force", action="store_true", help="replace OUT's ontology/, shapes/ and data/")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    prepare(args.out, force=args.force)
    base = knowledge_triples(args.out)
    budget = args.triples - base
    if budget < MIN_GENERATED:
        raise SystemExit(f"generate.py: --triples must be at least {base + MIN_GENERATED} "
                         f"(the repository's ontology + data hold {base})")
    generator = generate(args.out / "data" / GENERATED_FILE, budget, args.seed)
    seconds = time.perf_counter() - started
    written = generator.written
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    total = base + written
    print(f"Wrote {args.out}: {total} triples (target {args.triples}, off by {total - args.triples}): "
          f"{base} of the repository's ontology + data, {written} generated in data/{GENERATED_FILE}")
    print("Generated things: " + ", ".join(f"{kind} {n}" for kind, n in generator.counts.items()))
    print(f"Seconds: {seconds:.2f}; peak memory {peak / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
