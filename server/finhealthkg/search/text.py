"""How names are compared: case- and accent-insensitively, exact forms first.

Every name is kept in two normal forms: `exact` (case-folded, punctuation and spacing made
uniform, accents kept) and `folded` (the same with accents removed: ä→a, å→a, ö→o). A query
is normalised the same way, and `score` ranks one name against it, 0–100.
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"\w+")

# Tiers of a match, best first; within a tier a name that the query covers more of ranks higher.
EXACT = 100.0  # the same words, accents and all
FOLDED = 96.0  # the same words once accents are removed
START = 88.0  # the name starts with the query's words, the last one whole
START_PARTIAL = 84.0  # the name starts with the query, its last word cut short ("Auria Bio")
WORDS = 78.0  # every query word is a whole word of the name
WORD_PREFIXES = 70.0  # every query word starts a word of the name
SUBSTRING = 55.0  # the query is inside the name, anywhere
ACCENTS_AGREE = 1.0  # a non-exact match whose accents agree with the name's
COVERAGE_WEIGHT = 8.0  # at most this much below a tier for a long name matched by a short query

# Which label a name comes from; a preferred name ranks a little above an alternative one.
KINDS = {"pref": 0, "label": 1, "alt": 2}
KIND_PENALTY = {0: 0.0, 1: 0.0, 2: 1.5}


def exact_form(text: str) -> str:
    """Case-folded words, separated by one space: `Itä-Suomen  Biopankki` → `itä suomen biopankki`."""
    folded = text.casefold()
    if not folded.isascii():  # ASCII has no other normal form: most names skip this
        folded = unicodedata.normalize("NFC", folded)
    return " ".join(WORD.findall(folded))


def fold(text: str) -> str:
    """exact_form without accents: `Itä-Suomen Biopankki` → `ita suomen biopankki`."""
    plain = text.casefold()
    if not plain.isascii():  # ASCII has no accents to remove (and NFKD leaves it as it is)
        decomposed = unicodedata.normalize("NFKD", plain)
        plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(WORD.findall(plain))


def score(query_exact: str, query_folded: str, name_exact: str, name_folded: str, kind: int = 0) -> float:
    """How well one name matches a query, 0 (not at all) to 100 (the very same words)."""
    if not query_folded or not name_folded:
        return 0.0
    if name_exact == query_exact:
        return EXACT - KIND_PENALTY[kind]
    if name_folded == query_folded:
        return FOLDED - KIND_PENALTY[kind]
    query_words, name_words = query_folded.split(), name_folded.split()
    if name_folded.startswith(query_folded + " "):
        tier = START
    elif name_folded.startswith(query_folded):
        tier = START_PARTIAL
    elif all(word in name_words for word in query_words):
        tier = WORDS
    elif all(any(n.startswith(q) for n in name_words) for q in query_words):
        tier = WORD_PREFIXES
    elif query_folded in name_folded:
        tier = SUBSTRING
    else:
        return 0.0
    coverage = min(1.0, len(query_folded) / len(name_folded))
    value = tier - COVERAGE_WEIGHT * (1.0 - coverage) - KIND_PENALTY[kind]
    if query_exact in name_exact:  # written as the name writes it, accents and all: ranks first
        value += ACCENTS_AGREE
    return round(value, 2)
