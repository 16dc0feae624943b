"""The reading of a query (query/reading.py) agrees with the engine that runs it.

The engine itself is the judge: Oxigraph runs each query here, in the test process, against a
listener on loopback, and a SERVICE it evaluates shows as a connection. Whenever the engine
connects, the reading must have seen SERVICE; and on queries built to look like SERVICE hidden
in strings, comments and IRIs, the reading must see what the engine sees, no more.
"""

from __future__ import annotations

import socket
import threading

import pyoxigraph
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finhealthkg.query.reading import read


class Counter:
    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/x"
        self.count = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.count += 1
            connection.close()  # the engine's SERVICE call fails at once


@pytest.fixture(scope="module")
def counter() -> Counter:
    return Counter()


def engine_connects(counter: Counter, query: str) -> bool | None:
    """True/False: whether Oxigraph connected while running the query; None: it does not parse."""
    before = counter.count
    try:
        answer = pyoxigraph.Store().query(query)
        if isinstance(answer, pyoxigraph.QuerySolutions):
            list(answer)
    except SyntaxError:
        return None
    except OSError:
        pass  # the SERVICE call failed: it was made
    return counter.count > before


def cases(url: str) -> dict[str, tuple[str, bool]]:
    """query -> whether SERVICE is really there (each checked against the engine below)."""
    service = f"SERVICE <{url}> {{ BIND(2 AS ?two) }}"
    head = "PREFIX e: <http://example.org/> SELECT * WHERE { BIND(1 AS ?one) "
    return {
        "plain": (f"{head}{service} }}", True),
        "in-string": (f'{head}BIND("{service}" AS ?a) }}', False),
        "in-long-string": (f"{head}BIND('''x\n{service}\n''' AS ?a) }}", False),
        "in-comment": (f"{head}# {service}\n }}", False),
        "after-comment-cr": (f"{head}# c\r{service} }}", True),
        "between-rdflib-escapes": (f'{head}BIND("\\u00000022" AS ?a) {service} BIND("\\u00000022" AS ?b) }}', True),
        "escaped-quote-in-string": (f'{head}BIND("\\u0022 {service} \\u0022" AS ?a) }}', False),
        "escaped-quote-ends-nothing": (f'{head}BIND("a\\"{service}\\"b" AS ?a) }}', False),
        "less-than-then-string": (f"{head}FILTER(?one<2&&'>'!=?x) {service} FILTER('x'!='y') }}", True),
        "iri-with-apostrophe": (f"{head}BIND(<http://a/it's> AS ?i) {service} }}", True),
        "escaped-hash-in-name": (f"{head}OPTIONAL {{ ?s e:a\\#b ?o }} {service} }}", True),
        "escaped-apostrophe-in-name": (f"{head}OPTIONAL {{ ?s e:a\\'b ?o }} {service} FILTER(?x != 'y') }}", True),
        "glued-to-iri": (f"{head}SERVICE<{url}>{{ BIND(2 AS ?two) }} }}", True),
        "glued-prefix": (f"PREFIX : <{url}> SELECT * WHERE {{ BIND(1 AS ?one) SERVICE: {{ BIND(2 AS ?two) }} }}",
                         True),
        "variable-named-service": (f"{head}BIND(<{url}> AS ?service) }}", False),
        "prefix-named-service": ("PREFIX service: <http://x/> SELECT * WHERE { BIND(1 AS ?one) "
                                 "OPTIONAL { ?s service:type ?o } }", False),
        "u-escape-outside-strings": (f"{head}SERV\\u0049CE <{url}> {{ }} }}", False),
        "lower-case": (f"{head}sErViCe <{url}> {{ BIND(2 AS ?two) }} }}", True),
        "in-exists": (f"{head}FILTER EXISTS {{ {service} }} }}", True),
        "values-row-iris": (f"{head}VALUES (?a ?b) {{ (<http://a#'> <http://b>) }} {service} }}", True),
        "collection-after-iri": (f"{head}OPTIONAL {{ ?s <http://p> (<http://a#'> 1) }} {service} }}", True),
    }


@pytest.mark.parametrize("name", sorted(cases("http://127.0.0.1:1/x")))
def test_the_reading_sees_service_exactly_where_the_engine_does(counter, name):
    query, present = cases(counter.url)[name]
    connects = engine_connects(counter, query)
    if connects is not None:  # the case says what the engine does, checked
        assert connects == present, f"the engine {'did' if connects else 'did not'} connect: {query!r}"
    assert read(query).service == present, query


FRAGMENTS = st.sampled_from([
    '"', "'", '"""', "'''", "\\u0022", "\\u0027", "\\u00000022", "\\\\", "\\", "#", "\n", "\r", "<", ">",
    "?one<2", "&&", "'>'", "<http://a#b>", "<http://a/it's>", "e:a\\#b", "e:a\\'b", "FILTER(", ")", "{", "}",
    " ", ".", "BIND(", " AS ?z)", "SERVICE", "SERVICE:x", "x", "1", "OPTIONAL", "(", "=",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(FRAGMENTS, max_size=14))
def test_whenever_the_engine_connects_the_reading_saw_service(counter, parts):
    """Random arrangements of quotes, escapes, comments and brackets around a real SERVICE: if
    the engine parses the text and connects, the reading must have said SERVICE."""
    middle = "".join(parts)
    query = (f"PREFIX e: <http://example.org/> PREFIX : <{counter.url}> SELECT * WHERE {{ BIND(1 AS ?one) "
             f"{middle} SERVICE <{counter.url}> {{ BIND(2 AS ?two) }} {middle} }}")
    if engine_connects(counter, query):
        assert read(query).service, query


def test_from_graphs_are_read_as_the_engine_resolves_them():
    reading = read("BASE <http://b/> PREFIX e: <http://e/> SELECT * FROM <g> FROMe:h FROM NAMED e:k "
                   "FROM NAMED<http://x/\\u0079> WHERE { ?s ?p ?o }")
    assert reading.graphs == ("http://b/g", "http://e/h", "http://e/k", "http://x/y")
    assert read("CONSTRUCT { ?s ?p ?o } FROM <http://g/> WHERE { ?s ?p ?o }").graphs == ("http://g/",)
    assert read('SELECT * WHERE { ?s ?p "FROM <http://g/>" }').graphs == ()


def test_updates_are_read_as_updates_and_queries_not():
    assert read("PREFIX : <x:> INSERT DATA { :a :b :c }").update
    assert read("DELETE WHERE { ?s ?p ?o }").update
    assert not read("SELECT * WHERE { ?s ?p ?o }").update
    assert not read("ASK { }").update


def test_the_reading_cache_keeps_readings_not_texts():
    """Each distinct text kept whole let 2,000 bodies of 1 MB grow every worker by 400 MB."""
    from finhealthkg.query import reading

    for n in range(3):
        reading.read(f"ASK {{}} # {n} " + "a" * 100_000)
    assert all(isinstance(digest, bytes) and len(digest) == 16 for digest, _ in reading._CACHE)
    assert len(reading._CACHE) <= reading.CACHED_READINGS
