"""Errors as the product shows them: a page in the product's look, or JSON on ``/api/``.

Every error of a request under ``/api/`` (401, 403, 404, 405, 413, 500 …, also a route that does
not exist) is ``{"error": "..."}`` with its HTTP status, never HTML nor a traceback; a refused
field adds ``"field"``. Pages get ``errors/error.html``.

A view may let the services' errors through: :data:`STATUS_OF` maps them to their HTTP status
(an unknown job, printer or user → 404, a state that does not allow the action → 409, a bad
parameter → 400, the database unavailable → 503), with the error's own message.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, default_exceptions

from printserver.accounts.errors import (LastAdminError, NameTakenError, SetupError, SignInError,
                                         SignInThrottled)
from printserver.errors import ParameterError, PrintserverError
from printserver.jobs.errors import JobStateError, JobStoreError
from printserver.jobs.services import FilmFileError
from web.access import is_api

log = logging.getLogger(__name__)

#: the HTTP status of the services' errors; the first type the error is an instance of wins
STATUS_OF: tuple[tuple[type[BaseException], int], ...] = (
    (LookupError, 404),  # UnknownJobError, UnknownPrinterError, UnknownUserError, …
    (FilmFileError, 404),
    (ParameterError, 400),
    (SignInThrottled, 429),
    (SignInError, 401),
    (SetupError, 400),
    (NameTakenError, 409),
    (LastAdminError, 409),
    (JobStateError, 409),
    (JobStoreError, 503),
    (PrintserverError, 400),
)

#: page titles of the statuses a user may meet
TITLES = {400: "Bad request", 401: "Sign-in needed", 403: "Not allowed", 404: "Not found",
          405: "Not allowed here", 409: "Not possible now", 413: "Too large",
          429: "Too many attempts", 500: "Something went wrong", 503: "Unavailable"}

#: what a page says for a status when the error has nothing better
MESSAGES = {
    403: "Your role does not allow this page or action. Ask an admin if you need it.",
    404: "There is nothing at this address. It may have been removed, or the link is wrong.",
    405: "This address does not take this kind of request.",
    413: "What was sent is larger than printserver accepts.",
    500: "printserver could not answer this request. The details are in the server's log.",
}


def status_of(error: BaseException) -> int:
    """The HTTP status of a service's error (:data:`STATUS_OF`), 500 for anything else."""
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), 500)


def error_response(status: int, message: str, field: str | None = None) -> Response:
    """The answer to an error: JSON on ``/api/``, else the error page."""
    if is_api():
        body: dict[str, str] = {"error": message}
        if field:
            body["field"] = field
        response = jsonify(body)
    else:
        response = Response(render_template(
            "errors/error.html", status=status, title=TITLES.get(status, "Error"),
            message=message), mimetype="text/html")
    response.status_code = status
    if status == 401 and is_api():
        response.headers["WWW-Authenticate"] = 'Bearer realm="printserver"'
    return response


def _http(error: HTTPException) -> Response:
    status = error.code or 500
    described = error.description and error.description != type(error).description
    message = error.description if described else MESSAGES.get(status, error.description or "")
    if status == 400 and type(error).__name__ == "CSRFError":
        message = ("this form has expired or did not come from printserver's own page (its CSRF "
                   "token is missing or wrong): reload the page and try again"
                   if not is_api() else
                   "CSRF token missing or wrong: send the X-CSRFToken header of the page's "
                   "csrf-token meta tag, or authenticate with 'Authorization: Bearer TOKEN'")
    response = error_response(status, message)
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _service(error: PrintserverError) -> Response:
    status = status_of(error)
    if status >= 500:
        log.error("%s %s: %s", request.method, request.path, error)
    return error_response(status, str(error), getattr(error, "parameter", None))


def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _http(error)
    log.exception("%s %s failed", request.method, request.path)
    return error_response(500, MESSAGES[500])


def init_app(app: Flask) -> None:
    """Register the handlers: HTTP errors, the services' errors, anything unexpected."""
    for code in default_exceptions:
        app.register_error_handler(code, _http)
    app.register_error_handler(PrintserverError, _service)
    app.register_error_handler(Exception, _unexpected)
