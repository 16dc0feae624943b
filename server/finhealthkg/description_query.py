"""The query a /doc/ description answers with, on its own so that the benchmark's thin app
(bench/thin_app.py) runs the very same query without importing the web layer."""

from __future__ import annotations

LABELS = ("http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2004/02/skos/core#prefLabel")


def describe_query(iri: str) -> str:
    """The CONSTRUCT of a description: the thing's own triples, the triples that point to it,
    and the labels of both ends."""
    labels = " ".join(f"<{p}>" for p in LABELS)
    # VALUES, not FILTER (?lp IN ...): Oxigraph then looks the labels up instead of scanning
    # every property of every neighbour (three times faster).
    return f"""
        CONSTRUCT {{ <{iri}> ?p ?o . ?o ?lp ?label . ?s ?ip <{iri}> . ?s ?slp ?slabel . }}
        WHERE {{
            {{ <{iri}> ?p ?o OPTIONAL {{ VALUES ?lp {{ {labels} }} ?o ?lp ?label }} }}
            UNION
            {{ ?s ?ip <{iri}> OPTIONAL {{ VALUES ?slp {{ {labels} }} ?s ?slp ?slabel }} }}
        }}"""
