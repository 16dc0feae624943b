"""Security headers of the pages: what a page may load, who may frame it, what it tells others.

    Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self' 'sha256-…' …;
        object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'
    Referrer-Policy: no-referrer
    X-Frame-Options: DENY

on every HTML (and SVG) answer. Scripts come only from this site's files: no inline script, no
eval (the JSON and JSON-LD blocks in pages are data, which a policy does not govern). Styles
come from this site's files and from the inline <style> blocks allowed by their SHA-256:
those of the templates (hashed from the templates when the app starts) and the two that the
vendored Yasgui inserts (its table's column resizer), listed below and checked against the
vendored file by the tests. The browser tests (tests/test_operations.py) load every kind of
page and run and chart a query in the editor, and fail on any violation the browser reports.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from pathlib import Path

from flask import Flask, Response, current_app

log = logging.getLogger(__name__)
CONFIG_KEY = "FINHEALTHKG_CSP"
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'{styles}; object-src 'none'; base-uri 'none'; "
          "form-action 'self'; frame-ancestors 'none'")
HEADERS = {"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}
DOCUMENT_TYPES = ("text/html", "image/svg+xml")  # what a browser renders as a document, scripts and all

# The <style> elements static/yasgui/yasgui.min.js inserts (column-resizer in Yasr's table): on
# drawing a table, and while a column is dragged (its default drag cursor). Re-vendoring Yasgui
# may change them: tests/test_operations.py checks that they are still in the file.
YASGUI_STYLES = (
    " .grip-resizable{table-layout:fixed;} .grip-resizable > tbody > tr > td, .grip-resizable > tbody > tr > th"
    "{overflow:hidden} .grip-padding > tbody > tr > td, .grip-padding > tbody > tr > th{padding-left:0!important; "
    "padding-right:0!important;} .grip-container{ height:0px; position:relative;} .grip-handle{margin-left:-5px; "
    "position:absolute; z-index:5; } .grip-handle .grip-resizable{position:absolute;background-color:red;"
    "filter:alpha(opacity=1);opacity:0;width:10px;height:100%;cursor: col-resize;top:0px} .grip-lastgrip"
    "{position:absolute; width:1px; } .grip-drag{ border-left:1px dotted black;\t} .grip-flex{width:auto!important;} "
    ".grip-handle.grip-disabledgrip .grip-resizable{cursor:default; display:none;}",
    "*{cursor:col-resize!important}",
)


def init_app(app: Flask) -> None:
    templates = Path(app.root_path) / (app.template_folder or "templates")
    app.config[CONFIG_KEY] = content_security_policy(template_styles(templates) + list(YASGUI_STYLES))


def template_styles(templates: Path) -> list[str]:
    """The text of every inline <style> block of the templates."""
    styles = []
    for template in sorted(templates.glob("*.html")):
        for css in re.findall(r"<style>(.*?)</style>", template.read_text(encoding="utf-8"), re.S):
            if "{{" in css or "{%" in css:  # rendered differently each time: no hash can allow it
                log.warning("%s: an inline <style> with template code is refused by the pages' "
                            "Content-Security-Policy; move it to a .css file", template.name)
                continue
            styles.append(css)
    return styles


def content_security_policy(inline_styles: list[str]) -> str:
    hashes = sorted({base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
                     for css in inline_styles})
    return POLICY.format(styles="".join(f" 'sha256-{digest}'" for digest in hashes))


def add_headers(response: Response, mimetype: str) -> None:
    """The security headers of a document (HTML, SVG); other answers are left as they are."""
    if mimetype in DOCUMENT_TYPES:
        response.headers.setdefault("Content-Security-Policy", current_app.config[CONFIG_KEY])
        framable = "frame-ancestors 'none'" not in response.headers["Content-Security-Policy"]
        for name, value in HEADERS.items():
            if not (framable and name == "X-Frame-Options"):  # a page made to be framed (reconcile preview)
                response.headers.setdefault(name, value)
