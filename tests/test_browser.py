"""The pages in a real browser: Playwright driving Debian's Chromium (no browser download).

Each step saves a screenshot under tests/artifacts/. With FINHEALTHKG_SCREENSHOTS=DIR the
home page and a resource page are also written to DIR (`make screenshots` updates the ones
the README shows, docs/screenshots/)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import not_here

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright import sync_api  # a test dependency: make test installs it
    executable = chromium_path()
    if executable is None:
        not_here("the browser tests did NOT run: Debian's chromium is not installed "
                 "(apt-get install chromium; .ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def tab(browser, server) -> Iterator[object]:  # noqa: ANN001
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith((server, "data:")) else None)
    yield page
    context.close()
    assert outside == [], f"the page asked other hosts: {outside}"


def shot(page, name: str, store: str) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{store}-{name}.png"), full_page=True)
    publish = os.environ.get("FINHEALTHKG_SCREENSHOTS")
    if publish and store == "oxigraph" and name in ("home", "resource"):
        Path(publish).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(publish) / f"{name}.png"), full_page=False)


def store_of(request) -> str:  # noqa: ANN001
    return request.node.callspec.params.get("server", "oxigraph")


def test_home_diagram_node_leads_to_its_page_and_language_switches(tab, server, request):
    store = store_of(request)
    tab.goto(server + "/")
    assert tab.locator("h1").inner_text().startswith("Finnish health-sector growth strategy")
    node = tab.locator('svg.diagram a[href="/id/organization/auria-biobank"]')
    assert node.count() == 1
    shot(tab, "home", store)
    node.click()
    tab.wait_for_load_state()
    assert tab.url.endswith("/doc/organization/auria-biobank")
    assert tab.locator("h1").inner_text() == "Auria Biobank"
    shot(tab, "resource", store)
    tab.locator('nav.languages a[lang="fi"]').click()
    tab.wait_for_load_state()
    assert tab.locator("h1").inner_text() == "Auria Biopankki"
    assert tab.locator("html").get_attribute("lang") == "fi"
    assert tab.get_by_role("heading", name="Nimet").count() == 1
    shot(tab, "resource-fi", store)
    tab.locator('a[href="/id/organization/finnish-biobank-cooperative"]').first.click()
    tab.wait_for_load_state()
    assert tab.locator("h1").inner_text() == "Biopankkien Osuuskunta Suomi – FINBB"  # Finnish still
    shot(tab, "cooperative-fi", store)


def test_example_query_runs_with_one_click(tab, server, request):
    tab.goto(server + "/")
    tab.get_by_role("link", name="Which regional centres form the national cancer network").click()
    tab.wait_for_load_state()
    rows = tab.locator("table.results tbody tr")
    assert rows.count() == 5
    assert "FICAN West" in tab.locator("table.results").inner_text()
    shot(tab, "example-results", store_of(request))


def test_copy_button_copies_the_iri(browser, server, request):
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(server + "/doc/organization/fican-west")
    button = page.locator("button.copy")
    assert button.is_visible()
    button.click()
    assert page.evaluate("navigator.clipboard.readText()") == "https://w3id.org/finhealthkg/id/organization/fican-west"
    context.close()


def test_keyboard_reaches_the_content_first(tab, server):
    tab.goto(server + "/doc/organization/auria-biobank")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.getAttribute('href')") == "#main"


def test_query_editor_runs_an_example_and_charts_it(tab, server, request):
    store = store_of(request)
    tab.goto(server + "/sparql")
    tab.wait_for_selector("#query-editor .CodeMirror")
    editor_text = tab.evaluate("document.querySelector('#query-editor .CodeMirror').CodeMirror.getValue()")
    assert "PREFIX fhkg:" in editor_text  # the dataset's prefixes are preloaded
    shot(tab, "editor", store)
    tab.click('a[data-example="members-per-organisation"]')
    rows = tab.locator("#query-editor .tabPanel.active .yasr_results table tbody tr")
    rows.first.wait_for()
    assert rows.count() == 3
    assert "Neurocenter Finland" in tab.locator("#query-editor .tabPanel.active .yasr_results").inner_text()
    shot(tab, "editor-table", store)
    tab.click("#query-editor .tabPanel.active .yasr .select_chart")
    bars = tab.locator("#query-editor .tabPanel.active svg.bar-chart rect.bar")
    bars.first.wait_for()
    assert bars.count() == 3
    labels = [label.text_content() for label in tab.locator(
        "#query-editor .tabPanel.active svg.bar-chart .bar-label").all()]
    assert any("Neurocenter" in (text or "") for text in labels)
    shot(tab, "editor-chart", store)


def test_query_editor_falls_back_to_a_form_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server + "/sparql")
    form = page.locator("form.plain-query")
    assert form.is_visible()
    page.click("form.plain-query button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("table.results tbody tr").count() >= 1
    context.close()
