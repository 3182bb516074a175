"""The agent console at ``/agent/``: log-in, the calls handed to the agent, account look-up
(with its arrangements, disputes, locks and saved cards), lifting a verification lock,
recording a dispute, and secure payment with live progress (server-sent events).

Views only translate HTTP: every rule lives in :mod:`flows.agent` and every action goes
through :class:`ivr.channels.agent_console.AgentConsole`. A console session lives in the database
(:mod:`verification.agents`); Flask's signed cookie (HttpOnly, SameSite=Strict, Secure in
production) carries only its random key, the CSRF token and flashed messages, so signing out
ends the session wherever the cookie was copied. Every POST carries the session's CSRF token,
compared in constant time.

Odd input never reaches the database: a control character anywhere in the query or the form is
refused with 400, ids beyond the database's integers are 404, and a database that cannot take a
value (400) or cannot be reached (503) gets a page saying so, never a 500.
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import BadRequest, HTTPException, ServiceUnavailable
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response as BaseResponse

from flows.agent import ConsoleRefusedError
from ivr import logs
from ivr.channels.agent_console import AgentConsole
from ivr.models import utcnow
from ivr.web.services import services
from payments.cards import brand_label
from prompts import Money
from verification.agents import LoginOutcome

bp = Blueprint(
    "agent",
    __name__,
    url_prefix="/agent",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("ivr.agent")
CSRF_FIELD = "csrf_token"
SESSION_KEY = "console"  # the cookie's one identity: the key of a server-side console session
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CSP = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"


class RowId(IntegerConverter):
    """``<row_id:name>``: a positive id that fits the database's integer ids (PostgreSQL's
    ``integer`` ends at 2**31 - 1); anything larger is a 404, not a database error."""

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, min=1, max=2**31 - 1)


def _add_converters(state: BlueprintSetupState) -> None:
    state.app.url_map.converters.setdefault("row_id", RowId)


bp.record_once(_add_converters)


def console() -> AgentConsole:
    return services().agent_console


def csrf_token() -> str:
    """The session's CSRF token (made on first use), for forms and the script's requests."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {
        "csrf_token": csrf_token,
        "money": lambda cents: Money(cents).write("en-US"),
        "brand_label": brand_label,
    }


def _address() -> str:
    return request.remote_addr or "-"


def _origin() -> str:
    return f"web:{_address()}"


def _by_the_agent() -> bool:
    """Whether the agent made this request (a page, a form), not the page's own script (the
    calls list's refresh, a payment's event stream): only the agent's own requests keep the
    console session from going idle, and only they are sent to the log-in page."""
    fetched = request.headers.get("Sec-Fetch-Mode", "navigate") != "navigate"
    return not (fetched or request.endpoint == "agent.events")


@bp.before_request
def _refuse_control_characters() -> None:
    """One gate for every field: no control character (NUL, CR, LF, ...) in any name or value
    of the query or the form reaches a view, a header or the database."""
    fields = [*request.args.items(multi=True), *request.form.items(multi=True)]
    if any(CONTROL.search(name) or CONTROL.search(value) for name, value in fields):
        abort(
            400,
            "A field holds a control character, such as a line break or a NUL byte. "
            "Remove it and try again.",
        )


@bp.before_request
def _check_csrf() -> None:
    if request.method != "POST":
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not (expected and hmac.compare_digest(str(sent), str(expected))):
        abort(403, "This form has expired or did not come from the console. Reload and try again.")


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def _console_page(target: str) -> str:
    """``target`` if it is a path of this console, else the calls list: a form's return path
    or a log-in's ``next`` must never send the agent to another site (``//host``, ``/\\host``)
    nor break the ``Location`` header (a line break)."""
    safe = (
        target.startswith("/agent/")
        and "//" not in target
        and "\\" not in target
        and not CONTROL.search(target)
    )
    return target if safe else url_for("agent.index")


def _back() -> str:
    """Where a form returns to."""
    return _console_page(request.form.get("back", ""))


def signed_in(view: F) -> F:
    """Only for a signed-in, enabled agent (``g.agent``); others go to the log-in page."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        key = session.get(SESSION_KEY)
        by_agent = _by_the_agent()
        agent = (
            console().signed_in(key, utcnow(), extend=by_agent) if isinstance(key, str) else None
        )
        if agent is None:
            if not (request.method == "GET" and by_agent):
                abort(401, "Your console session has ended. Sign in again.")
            if session.pop(SESSION_KEY, None) is not None:
                flash("Your console session has ended. Sign in again.", "info")
            return redirect(url_for("agent.login", next=request.path))
        g.agent, g.console_key = agent, key
        try:
            return view(*args, **kwargs)
        except ConsoleRefusedError as refusal:
            if refusal.forbidden:
                abort(403, str(refusal))
            if request.method == "GET":
                abort(404, str(refusal))
            flash(str(refusal), "error")
            return redirect(_back())

    return checked  # type: ignore[return-value]


@bp.errorhandler(400)
@bp.errorhandler(401)
@bp.errorhandler(403)
@bp.errorhandler(404)
def _refused(error: HTTPException) -> tuple[str, int]:
    return render_template("agent/error.html", error=error), error.code or 500


@bp.errorhandler(DataError)
def _unusable_value(error: DataError) -> tuple[str, int]:
    """A value the database refused (out of range, wrong encoding): the request's fault."""
    logs.event(
        log, "agent.bad_value", logging.WARNING, path=request.path, error=type(error.orig).__name__
    )
    return _refused(
        BadRequest(
            "The console cannot use a value in this request. Check what was typed and try again."
        )
    )


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
@bp.errorhandler(PoolTimeoutError)
def _database_unavailable(error: Exception) -> tuple[str, int]:
    logs.event(
        log,
        "agent.database_unavailable",
        logging.ERROR,
        path=request.path,
        error=type(error).__name__,
    )
    return _refused(
        ServiceUnavailable(
            "The console cannot reach its database right now. Try again in a minute; "
            "if it keeps happening, tell the operators."
        )
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | str:
    if request.method == "GET":
        return render_template("agent/login.html")
    result = console().login(
        request.form.get("username", "")[:64], request.form.get("password", "")[:200],
        _address(), utcnow(),
    )  # fmt: skip
    if result.outcome is not LoginOutcome.OK or result.session_key is None:
        if result.outcome is LoginOutcome.LOCKED and result.locked_until is not None:
            minutes = max(1, round((result.locked_until - utcnow()).total_seconds() / 60))
            flash(f"Too many failed log-ins: try again in {minutes} minutes.", "error")
        else:
            flash("Wrong username or password.", "error")
        return render_template("agent/login.html"), 401  # type: ignore[return-value]
    session.clear()  # a new session (and CSRF token) on every log-in
    session.permanent = True
    session[SESSION_KEY] = result.session_key
    return redirect(_console_page(request.args.get("next", "")))


@bp.post("/logout")
@signed_in
def logout() -> BaseResponse:
    console().logout(g.agent, g.console_key, _origin())
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("agent.login"))


@bp.get("/")
@signed_in
def index() -> str:
    return render_template("agent/calls.html", calls=console().calls(g.agent))


@bp.get("/accounts")
@signed_in
def lookup() -> BaseResponse | str:
    number = request.args.get("number", "")
    try:
        summary = console().lookup(g.agent, number)
    except ConsoleRefusedError as refusal:
        flash(str(refusal), "error")
        return redirect(url_for("agent.index"))
    return render_template("agent/account.html", summary=summary)


@bp.get("/calls/<row_id:handoff_id>")
@signed_in
def call(handoff_id: int) -> str:
    return render_template("agent/call.html", view=console().call(g.agent, handoff_id))


@bp.post("/calls/<row_id:handoff_id>/claim")
@signed_in
def claim(handoff_id: int) -> BaseResponse:
    console().claim(g.agent, handoff_id)
    return redirect(url_for("agent.call", handoff_id=handoff_id))


@bp.post("/calls/<row_id:handoff_id>/payment")
@signed_in
def start_payment(handoff_id: int) -> BaseResponse:
    console().start(g.agent, handoff_id, request.form.get("amount", "")[:20])
    return redirect(url_for("agent.call", handoff_id=handoff_id))


@bp.post("/locks/lift")
@bp.post("/calls/<row_id:handoff_id>/locks/lift")
@signed_in
def lift_lock(handoff_id: int | None = None) -> BaseResponse:
    subject = console().lift_lock(g.agent, request.form.get("subject", "")[:120], handoff_id)
    flash(f"Lock on {subject} lifted: the caller can verify by phone and text again.", "info")
    return redirect(_back())


@bp.post("/calls/<row_id:handoff_id>/disputes")
@signed_in
def record_dispute(handoff_id: int) -> BaseResponse:
    dispute = console().record_dispute(g.agent, handoff_id, request.form.get("amount", "")[:20])
    flash(
        f"Dispute {dispute.reference_number} recorded: "
        f"{Money(dispute.amount_cents).write('en-US')} is held out of the amount due until the "
        "billing team resolves it. Read the caller the reference number; a receipt also goes to "
        "the account's phone and email.",
        "info",
    )
    return redirect(url_for("agent.call", handoff_id=handoff_id))


@bp.post("/payments/<row_id:capture_id>/rerequest")
@signed_in
def rerequest(capture_id: int) -> BaseResponse:
    console().rerequest(g.agent, capture_id, request.form.get("field", "")[:20])
    return redirect(_back())


@bp.post("/payments/<row_id:capture_id>/cancel")
@signed_in
def cancel(capture_id: int) -> BaseResponse:
    console().cancel(g.agent, capture_id)
    return redirect(_back())


@bp.get("/payments/<row_id:capture_id>/events")
@signed_in
def events(capture_id: int) -> Response:
    stream = console().stream(g.agent, g.console_key, capture_id)
    return Response(
        stream_with_context(stream),
        mimetype="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )
