"""A local fake of the slice of Stripe's HTTP API that ``StripeGateway`` uses.

It listens on 127.0.0.1 (ephemeral port) in a background thread and speaks Stripe's wire format:
form-encoded bodies with nested keys (``payment_method_data[card][number]``), Bearer keys,
``Idempotency-Key`` replay, the error JSON shape, search and list. Outcomes follow Stripe's
well-known test card numbers.

Its books never hold a full card number or CVC (only last4, brand and whether a CVC came), so
tests that scan everything for card data stay meaningful.

Use :func:`running_fake_stripe` (a context manager) to start and stop it.
"""

from __future__ import annotations

import json
import random
import re
import socketserver
import string
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_KEY = "sk_test_fake_4eC39HqLyjWDarjtT1zdp7dc"

# number -> (brand, outcome); outcome is a PaymentIntent status or (code, decline_code, message)
TEST_CARDS: dict[str, tuple[str, str | tuple[str, str, str]]] = {
    "4242424242424242": ("visa", "succeeded"),
    "378282246310005": ("amex", "succeeded"),
    "4000000000000002": ("visa", ("card_declined", "generic_decline", "Your card was declined.")),
    "4000000000009995": (
        "visa",
        ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    ),
    "4000000000000069": ("visa", ("expired_card", "expired_card", "Your card has expired.")),
    "4000000000000119": (
        "visa",
        (
            "processing_error",
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
    ),
    # 3-D Secure required on every payment: the intent waits in requires_action.
    "4000002760003184": ("visa", "requires_action"),
}


def _new_id(prefix: str) -> str:
    # Letters only, so ids can never look like (part of) a card number or CVC.
    return prefix + "".join(random.choices(string.ascii_letters, k=24))


def parse_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding to nested data: ``a[b][c]=v`` -> ``{"a": {"b": {"c": "v"}}}``.

    Indexed keys (``a[0]=x``) become lists.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        path = [head] + (re.findall(r"([^\[\]]*)\]", "[" + rest) if rest else [])
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"conflicting parameter {key}")
        node[path[-1]] = value
    parsed: dict[str, Any] = _lists(root)
    return parsed


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


class FakeStripeError(Exception):
    """A Stripe error response: HTTP status and the ``error`` object."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error


@dataclass
class _Stall:
    process: bool
    seconds: float


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    idempotency_key: str | None


class FakeStripe:
    """The fake's books and behaviour; the HTTP plumbing is in :class:`_Handler`."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.lock = threading.Lock()
        self.intents: dict[str, dict[str, Any]] = {}  # id -> PaymentIntent JSON, newest last
        self.payment_methods: dict[str, dict[str, Any]] = {}
        self.charges = 0  # PaymentIntents created: attempts to move money
        self.requests: list[SeenRequest] = []
        self.errors: list[BaseException] = []  # exceptions inside the fake: a test bug
        self.search_indexing = True  # False: new intents stay invisible to search, as in lag
        self._searchable: set[str] = set()
        self._replays: dict[tuple[str, str], tuple[str, int, bytes]] = {}
        self._stalls: list[_Stall] = []
        self._failures: list[int] = []
        self._release = threading.Event()
        self.base_url = ""

    # -- knobs for tests ---------------------------------------------------------------------

    def stall_next(self, *, process: bool = False, seconds: float = 5.0) -> None:
        """The next request gets no answer (the connection closes after ``seconds`` or at stop).

        ``process=True`` handles the request first, like a charge whose answer was lost.
        """
        with self.lock:
            self._stalls.append(_Stall(process, seconds))

    def fail_next(self, status: int = 500) -> None:
        """The next request fails with a Stripe ``api_error`` before doing anything."""
        with self.lock:
            self._failures.append(status)

    def set_status(self, intent_id: str, status: str) -> None:
        with self.lock:
            self.intents[intent_id]["status"] = status

    def books(self) -> str:
        """Everything the fake keeps, as text, for scanning."""
        with self.lock:
            return json.dumps(
                {
                    "intents": self.intents,
                    "payment_methods": self.payment_methods,
                    "requests": [r.__dict__ for r in self.requests],
                    "replays": [
                        [list(k), v[0], v[1], v[2].decode()] for k, v in self._replays.items()
                    ],
                },
                sort_keys=True,
            )

    def release_stalls(self) -> None:
        self._release.set()

    # -- request handling --------------------------------------------------------------------

    def handle(self, handler: _Handler) -> None:
        url = urlsplit(handler.path)
        idempotency_key = handler.headers.get("Idempotency-Key")
        body = b""
        if handler.command == "POST":
            body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self.lock:
            self.requests.append(SeenRequest(handler.command, url.path, idempotency_key))
            stall = self._stalls.pop(0) if self._stalls else None
            failure = self._failures.pop(0) if self._failures else None
        if stall is not None and not stall.process:
            self._release.wait(stall.seconds)
            handler.close_connection = True
            return
        response: tuple[int, bytes, dict[str, str]]
        if failure is not None:
            status, payload = failure, {"error": {"type": "api_error", "message": "Fake failure."}}
            response = (status, json.dumps(payload).encode(), {})
        else:
            response = self._respond(handler, url.path, url.query, body, idempotency_key)
        if stall is not None:
            self._release.wait(stall.seconds)
            handler.close_connection = True
            return
        status, payload_bytes, headers = response
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload_bytes)))
        handler.send_header("Request-Id", _new_id("req_"))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload_bytes)

    def _respond(
        self, handler: _Handler, path: str, query: str, body: bytes, idempotency_key: str | None
    ) -> tuple[int, bytes, dict[str, str]]:
        try:
            if handler.headers.get("Authorization") != f"Bearer {self.api_key}":
                raise FakeStripeError(
                    401,
                    {
                        "type": "invalid_request_error",
                        "message": "Invalid API Key provided: sk_test_****",
                    },
                )
            if handler.command == "POST" and path == "/v1/payment_intents":
                return self._create_with_replay(body, idempotency_key)
            params = parse_form(parse_qsl(query, keep_blank_values=True))
            if handler.command == "GET" and path == "/v1/payment_intents/search":
                return 200, json.dumps(self._search(params)).encode(), {}
            if handler.command == "GET" and path == "/v1/payment_intents":
                return 200, json.dumps(self._list(params)).encode(), {}
            raise FakeStripeError(
                404,
                {
                    "type": "invalid_request_error",
                    "message": f"Unrecognized request URL ({handler.command}: {path}).",
                },
            )
        except FakeStripeError as error:
            return error.status, json.dumps({"error": error.error}).encode(), {}

    def _create_with_replay(
        self, body: bytes, idempotency_key: str | None
    ) -> tuple[int, bytes, dict[str, str]]:
        params = parse_form(parse_qsl(body.decode(), keep_blank_values=True))
        card_facts = _take_card(params)  # from here on, no card number or CVC is held
        fingerprint = json.dumps([params, card_facts], sort_keys=True)
        with self.lock:
            if idempotency_key is not None:
                stored = self._replays.get((self.api_key, idempotency_key))
                if stored is not None:
                    if stored[0] != fingerprint:
                        raise FakeStripeError(
                            400,
                            {
                                "type": "idempotency_error",
                                "message": "Keys for idempotent requests can only be used with "
                                "the same parameters they were first used with.",
                            },
                        )
                    return stored[1], stored[2], {"Idempotent-Replayed": "true"}
            try:
                status, payload = 200, self._create(params, card_facts)
            except FakeStripeError as error:
                if error.status != 402:
                    raise  # Stripe saves no result for requests that failed validation
                status, payload = error.status, {"error": error.error}
            encoded = json.dumps(payload).encode()
            if idempotency_key is not None:
                self._replays[(self.api_key, idempotency_key)] = (fingerprint, status, encoded)
            return status, encoded, {}

    def _create(self, params: dict[str, Any], card: dict[str, Any]) -> dict[str, Any]:
        amount = params.get("amount", "")
        if not amount.isdigit() or int(amount) <= 0:
            raise _invalid("amount", "Invalid positive integer")
        if params.get("confirm") != "true":
            raise _invalid("confirm", "This fake only supports confirm=true.")
        pmd = params.get("payment_method_data") or {}
        if pmd.get("type") != "card" or not card.get("present"):
            raise _invalid("payment_method_data[card]", "Missing card details.")
        redirects = (params.get("automatic_payment_methods") or {}).get("allow_redirects")
        if params.get("payment_method_types") != ["card"] and redirects != "never":
            raise _invalid(
                "return_url",
                "This PaymentIntent is configured to accept payment methods enabled in your "
                "Dashboard, some of which may redirect; provide a return_url or limit "
                "payment_method_types.",
            )

        self.charges += 1
        pm_id = _new_id("pm_")
        postal = ((pmd.get("billing_details") or {}).get("address") or {}).get("postal_code")
        payment_method = {
            "id": pm_id,
            "object": "payment_method",
            "type": "card",
            "card": {
                "brand": card["brand"],
                "last4": card["last4"],
                "exp_month": card["exp_month"],
                "exp_year": card["exp_year"],
                "checks": {
                    "cvc_check": "pass" if card["cvc_present"] else None,
                    "address_postal_code_check": "pass" if postal else None,
                },
            },
            "billing_details": {"address": {"postal_code": postal}},
        }
        self.payment_methods[pm_id] = payment_method
        intent: dict[str, Any] = {
            "id": _new_id("pi_"),
            "object": "payment_intent",
            "amount": int(amount),
            "currency": params.get("currency", "usd"),
            "description": params.get("description"),
            "metadata": params.get("metadata") or {},
            "payment_method": pm_id,
            "payment_method_types": params.get("payment_method_types") or ["card"],
            "capture_method": "automatic",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "livemode": False,
            "last_payment_error": None,
            "latest_charge": None,
            "next_action": None,
            "status": "requires_payment_method",
        }
        self.intents[intent["id"]] = intent
        if self.search_indexing:
            self._searchable.add(intent["id"])

        outcome = card["outcome"]
        if isinstance(outcome, str):
            intent["status"] = outcome
            if outcome == "succeeded":
                intent["latest_charge"] = _new_id("ch_")
            if outcome == "requires_action":
                intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
            return intent
        code, decline_code, message = outcome
        error = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
            "charge": _new_id("ch_"),
            "doc_url": f"https://stripe.com/docs/error-codes/{code}",
            "payment_method": payment_method,
        }
        intent["last_payment_error"] = error
        raise FakeStripeError(402, {**error, "payment_intent": intent})

    def _search(self, params: dict[str, Any]) -> dict[str, Any]:
        match = re.fullmatch(
            r"""metadata\[(['"])(\w+)\1\]:(['"])((?:[^'"\\]|\\.)*)\3""", params.get("query", "")
        )
        if match is None:
            raise _invalid("query", "This fake only supports metadata['key']:'value' queries.")
        key, value = match.group(2), re.sub(r"\\(.)", r"\1", match.group(4))
        with self.lock:
            found = [
                intent
                for intent_id, intent in reversed(self.intents.items())
                if intent_id in self._searchable and intent["metadata"].get(key) == value
            ]
        limit = int(params.get("limit", 10))
        return {
            "object": "search_result",
            "data": found[:limit],
            "has_more": len(found) > limit,
            "next_page": None,
            "url": "/v1/payment_intents/search",
        }

    def _list(self, params: dict[str, Any]) -> dict[str, Any]:
        gte = int((params.get("created") or {}).get("gte", 0))
        with self.lock:
            found = [i for i in reversed(self.intents.values()) if i["created"] >= gte]
        after = params.get("starting_after")
        if after is not None:
            ids = [i["id"] for i in found]
            found = found[ids.index(after) + 1 :] if after in ids else []
        limit = int(params.get("limit", 10))
        return {
            "object": "list",
            "data": found[:limit],
            "has_more": len(found) > limit,
            "url": "/v1/payment_intents",
        }


def _invalid(param: str, message: str) -> FakeStripeError:
    error = {"type": "invalid_request_error", "code": "parameter_invalid", "param": param}
    return FakeStripeError(400, {**error, "message": message})


def _take_card(params: dict[str, Any]) -> dict[str, Any]:
    """Removes the card number and CVC from ``params``; returns only safe facts about them."""
    pmd = params.get("payment_method_data")
    card = pmd.pop("card", None) if isinstance(pmd, dict) else None
    if not isinstance(card, dict):
        return {"present": False}
    number = str(card.pop("number", ""))
    cvc = card.pop("cvc", None)
    brand, outcome = TEST_CARDS.get(
        number,
        ("unknown", ("card_declined", "test_mode_live_card", "Your card was declined.")),
    )
    facts = {
        "present": bool(number),
        "last4": number[-4:],
        "brand": brand,
        "outcome": list(outcome) if isinstance(outcome, tuple) else outcome,
        "cvc_present": bool(cvc),
        "exp_month": int(card.get("exp_month") or 0),
        "exp_year": int(card.get("exp_year") or 0),
    }
    del number, cvc
    return facts


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _dispatch(self) -> None:
        self.server.fake.handle(self)

    do_GET = do_POST = do_DELETE = _dispatch  # noqa: N815 - http.server's naming

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the books record what came in."""


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close (released stalls finish), so no thread outlives a test.
    daemon_threads = False
    block_on_close = True

    def __init__(self, fake: FakeStripe) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would resolve our hostname (getfqdn): no lookups here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if error is not None:
            self.fake.errors.append(error)


@contextmanager
def running_fake_stripe(api_key: str = API_KEY) -> Iterator[FakeStripe]:
    """Starts the fake on 127.0.0.1 in a background thread; stops it and joins every thread."""
    fake = FakeStripe(api_key)
    server = _Server(fake)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-stripe"
    )
    thread.start()
    try:
        yield fake
    finally:
        fake.release_stalls()
        server.shutdown()
        thread.join()
        server.server_close()
