"""Log redaction: no card number reaches a log line, and no id an operator greps for is
mangled on the way."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator

import pytest

from ivr.logs import PAYLINK_PATH, RedactingFormatter, configure, event, redact
from payments import paylinks

VISA = "4242424242424242"
AMEX = "378282246310005"
REDACTED = "[REDACTED]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("4222222222222", REDACTED, id="13-digits"),
        pytest.param(VISA, REDACTED, id="16-digits"),
        pytest.param("4" * 18 + "2", REDACTED, id="19-digits"),
        pytest.param(AMEX, REDACTED, id="amex-15"),
        pytest.param("3782 822463 10005", REDACTED, id="amex-grouped"),
        pytest.param("4242 4242 4242 4242", REDACTED, id="spaces"),
        pytest.param("4242-4242-4242-4242", REDACTED, id="dashes"),
        pytest.param("4242-4242 4242-4242", REDACTED, id="mixed-separators"),
        pytest.param("4 2 4 2 4 2 4 2 4 2 4 2 4 2 4 2", REDACTED, id="digit-by-digit"),
        pytest.param(f"card={VISA};", f"card={REDACTED};", id="inside-text"),
        pytest.param(f"digits={VISA}#", f"digits={REDACTED}#", id="before-hash"),
        pytest.param(f"a {VISA} b {AMEX}", f"a {REDACTED} b {REDACTED}", id="two-cards"),
        pytest.param(
            f"card {VISA} on 2026-11-21T17:02:03Z",
            f"card {REDACTED} on 2026-11-21T17:02:03Z",
            id="next-to-a-timestamp",
        ),
    ],
)
def test_card_shaped_runs_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("424242424242", id="12-digits"),
        pytest.param("4242 4242 4242", id="12-digits-grouped"),
        pytest.param("1234", id="4-digits"),
        pytest.param("", id="empty"),
        pytest.param("+15005550006", id="e164-us"),
        pytest.param("+442071838750", id="e164-uk"),
        pytest.param("call from +15005550006 to +15005550007", id="two-phone-numbers"),
        pytest.param("2026-11-21T17:02:03Z", id="iso-utc"),
        pytest.param("2026-11-21T17:02:03.123456+00:00", id="iso-microseconds"),
        pytest.param("2026-11-21 17:02:03", id="iso-with-space"),
        pytest.param("4829130057", id="confirmation"),
        pytest.param("482-913-0057", id="confirmation-grouped"),
        pytest.param("482 913 0057", id="confirmation-spoken-groups"),
        pytest.param(
            "event=payment.approved confirmation=4829130057 amount=14250 balance=0",
            id="event-line",
        ),
        pytest.param("amount=142.50 account=70000001 ...4242", id="last-four"),
    ],
)
def test_other_numbers_are_left_alone(text: str) -> None:
    assert redact(text) == text


CALL_SID = "CA4242424242424242" + "d5aa" + "0" * 12  # a SID whose hex starts with a card
MESSAGE_SID = "SMf" + "378282246310005" + "a" * 16


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"call={CALL_SID}", id="call-sid"),
        pytest.param(f"message={MESSAGE_SID}", id="message-sid"),
        pytest.param("call=CA" + "1234567890123456789012345678901b", id="sid-all-but-one-digit"),
        pytest.param("key=outbox.1.20261202063500123456", id="idempotency-key"),
        pytest.param("key=outbox.17.42424242424242420000", id="idempotency-key-card-inside"),
        pytest.param("key=paylink:4242424242424242:1", id="colon-key"),
        pytest.param("token=tok_4242424242424242", id="number-inside-a-token"),
        pytest.param("id=1234567890123abc4def5678", id="hex-id-starting-with-digits"),
        pytest.param("from=+8613812345678", id="e164-13-digits"),
        pytest.param("number=4242424242424241", id="16-digits-failing-luhn"),
        pytest.param("at=1764657000000", id="epoch-milliseconds"),
    ],
)
def test_ids_are_never_mangled(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        VISA,
        AMEX,
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "3782 822463 10005",
        "3782-822463-10005",
        f"{VISA} 739",  # the number, then its code
        f"12 {VISA}",
        f"'{VISA}x'",  # as int() quotes it in an exception
    ],
)
def test_test_card_numbers_are_redacted(text: str) -> None:
    redacted = redact(f"event=x digits={text} call={CALL_SID}")
    assert VISA not in redacted.replace(CALL_SID, "") and AMEX not in redacted
    assert "digits=" + REDACTED in redacted.replace("'", "")
    assert redacted.endswith(f" call={CALL_SID}")


def test_the_pay_link_path_is_the_pay_pages() -> None:
    assert PAYLINK_PATH == paylinks.PATH


@pytest.mark.parametrize(
    "text", [VISA + "1230", VISA + "1230" + "739" + "94105", AMEX + "12307391"]
)
def test_a_card_number_followed_by_more_digits_is_redacted(text: str) -> None:
    assert VISA not in redact(text)
    assert AMEX not in redact(text)


# --- the formatter ------------------------------------------------------------------------


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A private logger writing through a RedactingFormatter into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("tests.logs.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, buffer
    logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


def test_the_message_is_redacted(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = lines
    logger.info(f"caller typed {VISA}")
    assert buffer.getvalue() == f"INFO tests.logs.redaction caller typed {REDACTED}\n"


@pytest.mark.parametrize("argument", [VISA, int(VISA), AMEX, "4242 4242 4242 4242"])
def test_percent_arguments_are_redacted(
    lines: tuple[logging.Logger, io.StringIO], argument: object
) -> None:
    logger, buffer = lines
    logger.warning("number=%s code=%s", argument, "739")
    assert buffer.getvalue() == f"WARNING tests.logs.redaction number={REDACTED} code=739\n"


def test_event_fields_are_redacted(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = lines
    event(logger, "card.entered", digits=VISA, call="CA12")
    assert buffer.getvalue() == (
        f"INFO tests.logs.redaction event=card.entered digits={REDACTED} call=CA12\n"
    )


def test_tracebacks_are_redacted(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = lines
    try:
        raise ValueError(f"gateway refused {VISA} for {AMEX}")
    except ValueError:
        logger.exception("charge failed")
    output = buffer.getvalue()
    assert "Traceback (most recent call last)" in output
    assert f"ValueError: gateway refused {REDACTED} for {REDACTED}" in output
    assert VISA not in output
    assert AMEX not in output


def test_chained_exceptions_are_redacted(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = lines
    try:
        try:
            int(f"{VISA}x")
        except ValueError as inner:
            raise RuntimeError("capture failed") from inner
    except RuntimeError as error:
        logger.error("oops", exc_info=error)
    output = buffer.getvalue()
    assert "direct cause" in output
    assert VISA not in output


def test_stack_info_is_redacted(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = lines
    logger.info("at %s", "4242424242424242", stack_info=True)  # the stack shows this line
    output = buffer.getvalue()
    assert "Stack (most recent call last)" in output
    assert VISA not in output


@pytest.fixture
def pacific_time() -> Iterator[None]:
    """Run with a local time zone far from UTC, so a local timestamp would show."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "America/Los_Angeles")
        time.tzset()
        yield
    time.tzset()


@pytest.mark.usefixtures("pacific_time")
def test_timestamps_are_utc() -> None:
    formatter = RedactingFormatter("%(asctime)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    record = logging.makeLogRecord({"msg": "hello", "created": 1_795_280_523.25})
    assert time.localtime(record.created).tm_hour != time.gmtime(record.created).tm_hour
    assert formatter.format(record) == "2026-11-21T17:02:03Z hello"


# --- configure ----------------------------------------------------------------------------


@pytest.fixture
def root_restored() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), logging.getLogger("ivr").level
    yield root
    for handler in ours(root):
        if handler not in handlers:
            root.removeHandler(handler)
    logging.getLogger("ivr").setLevel(level)


def ours(root: logging.Logger) -> list[logging.Handler]:
    return [handler for handler in root.handlers if getattr(handler, "_ivr", False)]


@pytest.mark.parametrize(("level", "expected"), [("debug", logging.DEBUG), ("WARNING", 30)])
def test_configure_is_idempotent_and_sets_our_level(
    root_restored: logging.Logger, level: str, expected: int
) -> None:
    configure(level)
    configure(level)
    [handler] = ours(root_restored)
    assert isinstance(handler.formatter, RedactingFormatter)
    assert logging.getLogger("ivr").level == expected


def test_configure_redacts_third_party_lines(root_restored: logging.Logger) -> None:
    configure("info")
    [handler] = ours(root_restored)
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)

    logging.getLogger("some.library").warning("retrying request with card %s", VISA)

    line = buffer.getvalue()
    assert f"WARNING some.library retrying request with card {REDACTED}" in line
    assert VISA not in line


def test_pay_link_tokens_are_redacted_from_access_log_lines() -> None:
    line = '127.0.0.1 - - "GET /pay/KsZ4Cs9ZXAW66PBuAI-RGHltp8NQ6n7g HTTP/1.1" 410 -'
    assert redact(line) == '127.0.0.1 - - "GET /pay/[REDACTED] HTTP/1.1" 410 -'
    assert redact("GET /pay/static/paypage.js") == "GET /pay/static/paypage.js"
