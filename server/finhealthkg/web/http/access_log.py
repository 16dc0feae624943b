"""The access log: one JSON object per request, one line each, written by gunicorn to stdout.

    {"time": "2026-11-25T19:04:05.123Z", "method": "GET", "path": "/sparql", "status": 200,
     "duration_ms": 12.3, "bytes": 2345, "release": "20261125T190330Z-9df51441", "query_hash": "3f9a0c6e1b2d4a57"}

`path` is the path only: never the query string (it may hold a query, or a token someone put
there). `query_hash` is, for requests to the SPARQL endpoint, the first 16 hex digits of the
SHA-256 of the query text (UTF-8; the `query` or `update` parameter, or the body of a direct
POST), else null: the same query gives the same hash by GET or POST, so slow or frequent
queries can be found without the log holding any query text. Nothing from the request
headers is logged (no credentials, cookies, addresses or user agents). `release` is the release that answered
(the FinHealthKG-Release header), `bytes` the body bytes sent, `duration_ms` from the request
read to the last byte written, `time` when that was (UTC).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from datetime import timedelta
from urllib.parse import parse_qsl

from flask import Flask, request
from gunicorn.glogging import Logger

from .errors import BadRequest
from .protocol import url_parameters

QUERY_HASH = "finhealthkg.query_hash"  # the WSGI environ key the app leaves the hash under
RELEASE_HEADER = "finhealthkg-release"
ENDPOINT = "/sparql"
HASH_DIGITS = 16
MAX_PATH = 1000  # longer paths are cut in the log


def query_hash(text: str | bytes) -> str:
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:HASH_DIGITS]


def init_app(app: Flask) -> None:
    """Have the app note the hash of a SPARQL request's query for the access log."""
    app.before_request(_note_query)


def _note_query() -> None:
    if request.path != ENDPOINT:
        return
    try:
        params = url_parameters()  # decoded as the endpoint decodes them, once
    except BadRequest:  # not UTF-8: the endpoint answers 400
        return
    text: str | bytes | None = params.get("query", params.get("update"))
    if text is None and request.method == "POST":
        text = _query_in_body()
    if text is not None:
        request.environ[QUERY_HASH] = query_hash(text)


def _query_in_body() -> str | bytes | None:
    # Read the body only when the endpoint will read all of it anyway: a known length within the
    # limit (werkzeug keeps it, so the endpoint reads the same bytes); otherwise no hash.
    length, limit = request.content_length, request.max_content_length
    if length is None or (limit is not None and length > limit):
        return None
    if request.mimetype in ("application/sparql-query", "application/sparql-update"):
        return request.get_data(cache=True)
    if request.mimetype == "application/x-www-form-urlencoded":
        try:
            form = dict(parse_qsl(request.get_data(cache=True).decode("ascii"), keep_blank_values=True))
        except UnicodeDecodeError:  # the endpoint answers 400
            return None
        return form.get("query", form.get("update"))
    return None


def access_record(environ: dict, status: int | None, duration: timedelta,
                  headers: list[tuple[str, str]], sent: int | None) -> dict:
    """The log record of one request, from the WSGI environ and the response."""
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    release = next((value for name, value in headers if name.lower() == RELEASE_HEADER), None)
    now = time.time()
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z",
        "method": environ.get("REQUEST_METHOD"),
        "path": path[:MAX_PATH],
        "status": status,
        "duration_ms": round(duration / timedelta(milliseconds=1), 1),
        "bytes": sent,
        "release": release,
        "query_hash": environ.get(QUERY_HASH),
    }


class JsonAccessLogger(Logger):
    """gunicorn's logger with the access log as JSON lines (`logger_class`; `accesslog` says where)."""

    def access(self, resp, req, environ, request_time) -> None:  # noqa: ANN001 - gunicorn's objects
        if not self.access_log_enabled:
            return
        try:
            status = resp.status
            code = int(status.split(None, 1)[0]) if isinstance(status, str) else status
            headers = list(resp.headers.items() if hasattr(resp.headers, "items") else resp.headers)
            record = access_record(environ, code, request_time, headers, getattr(resp, "sent", None))
            self.access_log.info(json.dumps(record, ensure_ascii=False))
        except Exception:  # noqa: BLE001 - a log line must never break a request
            self.exception("cannot write the access log line")

    def exception(self, msg, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003 - gunicorn's
        # A client that sent or read nothing for --client-timeout seconds (serve.py): the kernel's socket timeout
        # ends the read or write with EAGAIN, and the worker closes the connection. An expected
        # event, said in one line, not a traceback.
        error = sys.exc_info()[1]
        if isinstance(error, BlockingIOError):
            self.info("closed the connection of a client that sent or read nothing in time (%s)", error.strerror)
            return
        super().exception(msg, *args, **kwargs)
