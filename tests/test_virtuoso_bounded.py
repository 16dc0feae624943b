"""Promise 1 on the external store: a public query is read by a confined query process, never in
a web worker (Oxigraph evaluates some queries while it parses them, even over an empty store);
Virtuoso's answer is waited for as a query process's is: a query running long needs heavy slots
(one per client address), and a request whose client left is ended, the store's connection
closed and its slots given back."""

from __future__ import annotations

import json
import statistics
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import REPO, serving
from test_bounded_queries import LIGHT, _assert_idle, _latency, client

TIMEOUT = 4
VALUES = " ".join(str(n) for n in range(300))
# 27 million rows sorted, with no data at all: Oxigraph computes them while it "parses" the query
SORTED_WITHOUT_DATA = ("SELECT * WHERE { " + " ".join(f"VALUES ?{v} {{ {VALUES} }}" for v in "abc")
                       + " } ORDER BY ?a")
# Long for Virtuoso (a product of the data), nothing for an empty store
LONG_ON_THE_STORE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


@pytest.fixture(scope="module")
def on_virtuoso(release, request) -> str:  # noqa: ANN001
    with serving("virtuoso", REPO, release.path.parent, request, "--query-timeout", str(TIMEOUT),
                 "--workers", "3") as url:
        for query in LIGHT:
            _latency(url, query)
        yield url


def _log(url: str, release) -> list[dict]:  # noqa: ANN001
    port = url.rsplit(":", 1)[1]
    lines = (Path(release.path.parent).parent / f"server-{port}.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_a_query_oxigraph_evaluates_while_parsing_is_stopped_at_the_limit_and_others_go_on(on_virtuoso):
    url = on_virtuoso
    answers: list[tuple[requests.Response, float]] = []

    def heavy() -> None:
        started = time.perf_counter()
        answers.append((client("127.0.0.90").get(url + "/sparql", params={"query": SORTED_WITHOUT_DATA}, timeout=120),
                        time.perf_counter() - started))

    thread = threading.Thread(target=heavy)
    thread.start()
    light = []
    while thread.is_alive():
        light.append(_latency(url, LIGHT[len(light) % len(LIGHT)]))
    thread.join()
    (response, took), = answers
    # stopped at its time or memory limit, whichever it reaches first, in a query process
    assert response.status_code == 503 and (f"limit of {TIMEOUT} s" in response.text or "MiB" in response.text), \
        response.text
    assert took < TIMEOUT + 2, f"answered after {took:.1f} s"
    assert statistics.median(light) < 0.5 and max(light) < 2, light
    _assert_idle(url, by=time.monotonic() + 1.5)


def test_a_long_query_on_virtuoso_needs_the_clients_slot(on_virtuoso):
    url = on_virtuoso
    answers: list[requests.Response] = []
    threads = [threading.Thread(target=lambda: answers.append(
        client("127.0.0.91").get(url + "/sparql", params={"query": LONG_ON_THE_STORE}, timeout=60))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [a for a in answers if "try again in" in a.text]
    assert len(refused) == 1 and refused[0].status_code == 503, [a.text[:200] for a in answers]
    assert 1 <= int(refused[0].headers["Retry-After"]) <= 10
    other = next(a for a in answers if a is not refused[0])
    assert other.status_code == 503 and f"limit of {TIMEOUT} s" in other.text, other.text


def test_on_virtuoso_a_query_whose_client_left_is_ended_and_its_slot_given_back(on_virtuoso, release):
    url = on_virtuoso
    leaving = client("127.0.0.92")
    with pytest.raises(requests.exceptions.ReadTimeout):
        leaving.get(url + "/sparql", params={"query": LONG_ON_THE_STORE}, timeout=(5, 1.5))  # past HEAVY_WALL
    leaving.close()
    time.sleep(0.5)
    assert any(r.get("status") == 499 for r in _log(url, release)), "the server did not see the client leave"
    # Its slot is free again: the same address's next long query runs (to its limit), not refused
    again = client("127.0.0.92").get(url + "/sparql", params={"query": LONG_ON_THE_STORE}, timeout=60)
    assert again.status_code == 503 and f"limit of {TIMEOUT} s" in again.text, again.text
