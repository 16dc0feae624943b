"""Errors a client can cause, mapped to HTTP statuses in one place, with a body that says
what was wrong in the format the client asked for (text, JSON, HTML or an RDF comment)."""

from __future__ import annotations

import json
import logging
from xml.sax.saxutils import escape

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from ...query.formats import HTML, JSON, JSONLD, NTRIPLES, RDFXML, RESULTS_JSON, RESULTS_XML, TEXT, TURTLE, Format
from ...query.pool import Busy, ClientGone, QueryStopped
from ...serving import ReleaseUnavailable, UnknownRelease
from ...stores.base import QueryTimeout, StoreError, StoreRejected

log = logging.getLogger(__name__)


class PublisherError(Exception):
    status = 500
    title = "Internal Server Error"

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(PublisherError):
    status, title = 400, "Bad Request"


class ReadOnly(PublisherError):
    status, title = 403, "Forbidden"


class NotFound(PublisherError):
    status, title = 404, "Not Found"


class NotAcceptable(PublisherError):
    status, title = 406, "Not Acceptable"

    def __init__(self, offers: tuple[Format, ...], reason: str | None = None) -> None:
        offered = ", ".join(f"{f.media_type} (format={f.name})" for f in offers)
        accept = request.headers.get("Accept", "")
        super().__init__(f"{reason or f'nothing in Accept: {accept!r} is offered here'}; "
                         f"offered: {offered}")


class PayloadTooLarge(PublisherError):
    status, title = 413, "Content Too Large"


class UnsupportedMediaType(PublisherError):
    status, title = 415, "Unsupported Media Type"


class ServiceUnavailable(PublisherError):
    status, title = 503, "Service Unavailable"


class ClientClosed(PublisherError):
    """The client left before its answer; its query was stopped (logged as nginx logs it)."""

    status, title = 499, "Client Closed Request"

    def __init__(self) -> None:
        super().__init__("the client closed the connection; the query was stopped")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(PublisherError)
    def publisher_error(error: PublisherError) -> Response:
        return render_error(error.status, error.title, error.message, error.headers)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        headers = {}
        if error.code == 405 and error.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        messages = {
            404: f"nothing is published at {request.path}",
            413: f"the request body is larger than this endpoint accepts ({request.max_content_length} bytes)",
        }
        message = messages.get(error.code or 500, error.description or "")
        return render_error(error.code or 500, error.name, message, headers)

    @app.errorhandler(UnknownRelease)
    def unknown_release(error: UnknownRelease) -> Response:
        return render_error(NotFound.status, NotFound.title, str(error))

    @app.errorhandler(ReleaseUnavailable)
    def release_unavailable(error: ReleaseUnavailable) -> Response:
        return render_error(ServiceUnavailable.status, ServiceUnavailable.title, str(error))

    @app.errorhandler(Busy)
    def busy(error: Busy) -> Response:
        return render_error(503, "Service Unavailable", str(error), {"Retry-After": str(error.retry_after)})

    @app.errorhandler(ClientGone)
    def gone(error: ClientGone) -> Response:
        closed = ClientClosed()
        return render_error(closed.status, closed.title, closed.message)

    @app.errorhandler(QueryTimeout)
    def timeout(error: QueryTimeout) -> Response:
        return render_error(503, "Service Unavailable", str(error), {"Retry-After": "60"})

    @app.errorhandler(QueryStopped)
    def stopped(error: QueryStopped) -> Response:  # its process ended: memory, CPU, a crash
        log.warning("query stopped on %s %s: %s", request.method, request.path, error)
        return render_error(503, "Service Unavailable", str(error), {"Retry-After": "10"})

    @app.errorhandler(StoreRejected)
    def rejected(error: StoreRejected) -> Response:
        return render_error(400, "Bad Request", str(error))

    @app.errorhandler(StoreError)
    def store_down(error: StoreError) -> Response:
        log.error("store error on %s %s: %s", request.method, request.path, error)
        return render_error(503, "Service Unavailable", f"the store behind this endpoint did not answer: {error}",
                            {"Retry-After": "30"})

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return render_error(500, "Internal Server Error",
                            "the server failed to answer; the error is logged")


def render_error(status: int, title: str, message: str, headers: dict[str, str] | None = None) -> Response:
    # A message may quote the client's input, which can hold lone surrogates (from a query's
    # \ud800 escapes) that UTF-8 cannot encode: written as escapes, never failing the answer.
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    offers = (TEXT, JSON, RESULTS_JSON, JSONLD, HTML, TURTLE, NTRIPLES, RDFXML, RESULTS_XML)
    accept = request.accept_mimetypes
    chosen = accept.best_match([f.media_type for f in offers]) if accept else None
    fmt = next((f for f in offers if f.media_type == chosen), TEXT)
    if fmt in (JSON, RESULTS_JSON, JSONLD):
        body = json.dumps({"error": {"status": status, "title": title, "message": message}},
                          ensure_ascii=False) + "\n"
    elif fmt is HTML:
        body = render_template("error.html", status=status, title=title, message=message)
    elif fmt in (TURTLE, NTRIPLES):
        body = "".join(f"# {line}\n" for line in f"{status} {title}: {message}".splitlines())
    elif fmt is RDFXML:  # an empty, valid RDF/XML document that says why in a comment
        body = (f'<?xml version="1.0" encoding="utf-8"?>\n<!-- {status} {title}: '
                f'{escape(message).replace("--", "- -")} -->\n'
                '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n')
    elif fmt is RESULTS_XML:  # SPARQL XML results cannot carry an error: plain XML
        body = (f'<?xml version="1.0" encoding="utf-8"?>\n'
                f'<error status="{status}" title="{escape(title)}">{escape(message)}</error>\n')
    else:
        body = f"{status} {title}: {message}\n"
    content_type = "application/xml" if fmt is RESULTS_XML else fmt.content_type
    response = Response(body, status=status, content_type=content_type)
    response.headers.update(headers or {})
    response.vary.add("Accept")
    return response
