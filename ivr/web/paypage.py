"""The secure pay page: ``GET /pay/<token>`` shows the card form, ``POST`` pays.

Reached from a one-time link texted to the account's phone, not from Twilio, so no Twilio
signature: the link's token is the credential, and the form carries a token bound to the link.
Every response is ``no-store`` with a strict Content-Security-Policy and no referrer (the
token is in the URL).
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from ivr.channels.pay_page import Page
from ivr.models import utcnow
from ivr.web.services import services

bp = Blueprint(
    "paypage",
    __name__,
    url_prefix="/pay",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@bp.after_request
def secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _render(page: Page) -> tuple[str, int]:
    html = render_template(page.template, say=page.say(), lang=page.language, **page.values)
    return html, page.status


@bp.get("/<token>")
def show(token: str) -> tuple[str, int]:
    return _render(services().pay_page.show(token, utcnow()))


@bp.post("/<token>")
def pay(token: str) -> tuple[str, int]:
    return _render(services().pay_page.submit(token, request.form, utcnow()))
