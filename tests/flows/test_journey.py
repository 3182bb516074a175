"""The caller journey (greeting, identification, verification, main menu) on CALL_FLOW itself,
with real accounts in the database and no HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.data import ConversationData
from flows.engine import DONE, OFFER_ASK, Ask, Hangup, Queue, Turn
from flows.journey import agent_whisper
from ivr.config import Settings
from ivr.models import Account, AuditEvent, Payment, PaymentStatus
from prompts import Money, Prompt, SpokenDate, SpokenDigits
from tests.flows.conftest import ADA_PHONE, NOW, STRANGER, Call, Dial
from tests.support.factories import add_account

UNKNOWN = "70009999"

ACCOUNT_ASK = Ask(max_digits=17, finish_on_key="#", timeout=10)
PIN_ASK = Ask(max_digits=9, finish_on_key="#")
DETAIL_ASK = Ask(max_digits=5, finish_on_key="#", timeout=10)
MENU_ASK = Ask(max_digits=1)

ENTER_ACCOUNT = Turn((Prompt("enter_account"),), ACCOUNT_ASK)
ENTER_PIN = Turn((Prompt("enter_pin"),), PIN_ASK)
ENTER_DETAIL = Turn((Prompt("enter_detail"),), DETAIL_ASK)
MAIN_MENU = Turn((Prompt("main_menu"),), MENU_ASK)
FIRST_MENU = Turn((Prompt("main_menu"), Prompt("other_channels")), MENU_ASK)  # once a call
ANYTHING_ELSE = Turn((Prompt("anything_else"),), MENU_ASK)
OFFER_HELP = Turn((Prompt("offer_help"),), OFFER_ASK)
GOODBYE = Turn((Prompt("goodbye"),), end=Hangup())
CONFIRM_ADA = Turn((Prompt("confirm_caller_account", {"last4": SpokenDigits("0001")}),), Ask())
BALANCE = Prompt("balance", {"amount": Money(14250), "date": SpokenDate(dt.date(2026, 12, 19))})
MINIMUM = Prompt("minimum_due", {"amount": Money(3500)})
PAY_NOW = Turn((BALANCE, Prompt("pay_now_offer")), MENU_ASK)
VERIFIED = Turn((Prompt("verified"), BALANCE, Prompt("pay_now_offer")), MENU_ASK)
FAILED = (Prompt("verify_failed"), Prompt("forgot_credentials"))
FAILED_BY_KEYPAD = Turn((*FAILED, Prompt("enter_account_again")), ACCOUNT_ASK)
FAILED_BY_CALLER_ID = Turn((*FAILED, Prompt("enter_pin")), PIN_ASK)

# From the greeting: identify by caller ID, or key the account number in.
BY_CALLER_ID = ("", "1")
BY_KEYPAD = ("", "70000001")


def after(prompt: Prompt | str, turn: Turn) -> Turn:
    """``turn`` with ``prompt`` said first (a retry reason, a notice)."""
    first = prompt if isinstance(prompt, Prompt) else Prompt(prompt)
    return Turn((first, *turn.say), turn.ask, turn.end)


def locked(settings: Settings) -> Turn:
    return Turn((Prompt("locked", {"minutes": settings.LOCKOUT_MINUTES}),), Ask())


def transfer(settings: Settings) -> Turn:
    """Main-menu 0: into the agents' queue (``AGENT_TRANSFER=queue``, the default)."""
    return Turn((Prompt("transferring"),), end=Queue(settings.AGENT_QUEUE))


def transfers(session: Session) -> list[tuple[str, str, str | None]]:
    query = select(AuditEvent).where(AuditEvent.action == "call.transfer")
    return [(e.actor, e.outcome, e.resource) for e in session.scalars(query)]


def transferred_unverified(call: Call, settings: Settings, caller: str | None) -> None:
    assert call.state == DONE
    assert transfers(call.session) == [(f"caller:{caller or 'unknown'}", "unverified", None)]


@pytest.fixture
def at_menu(dial: Dial, ada: Account) -> Call:
    """Ada, verified through her caller ID, past the offer to pay, at the main menu."""
    call = dial(caller=ADA_PHONE)
    assert call.keys(*BY_CALLER_ID, "1234", "94105") == VERIFIED
    assert call.press("2") == FIRST_MENU
    return call


# Greeting and language


@pytest.mark.parametrize(("language", "other"), [("en-US", "es-US"), ("es-US", "en-US")])
def test_greeting_welcomes_and_offers_the_other_language(
    dial: Dial, settings: Settings, language: str, other: str
) -> None:
    call = dial(language=language)
    assert call.greeting == Turn(
        (
            Prompt("welcome", {"company": settings.COMPANY_NAME}),
            Prompt("language_offer", language=other),
        ),
        Ask(timeout=3),
    )
    assert call.state == "greeting"


@pytest.mark.parametrize("caller", [None, STRANGER])
def test_greeting_timeout_goes_on_to_identification(
    dial: Dial, ada: Account, caller: str | None
) -> None:
    call = dial(caller=caller)
    assert call.silence() == ENTER_ACCOUNT
    assert call.state == "enter_account"
    assert call.conv.language == "en-US"


@pytest.mark.parametrize(
    ("language", "key", "switched"),
    [
        ("en-US", "9", "es-US"),
        ("en-US", "1", "en-US"),
        ("en-US", "5", "en-US"),
        ("es-US", "1", "en-US"),
        ("es-US", "9", "es-US"),
        ("es-US", "2", "es-US"),
    ],
)
def test_greeting_keys_switch_language_and_go_on(
    dial: Dial, language: str, key: str, switched: str
) -> None:
    call = dial(language=language)
    assert call.press(key) == ENTER_ACCOUNT
    assert call.conv.language == switched


# Identification


@pytest.mark.parametrize("answer", ["", "1", "9"])
def test_caller_id_matching_one_account_asks_to_confirm_it(
    dial: Dial, ada: Account, answer: str
) -> None:
    call = dial(caller=ADA_PHONE)
    assert call.keys(answer) == CONFIRM_ADA
    assert call.conv.data["account_number"] == "70000001"


def test_confirming_the_caller_id_account_asks_for_the_pin(dial: Dial, ada: Account) -> None:
    call = dial(caller=ADA_PHONE)
    assert call.keys(*BY_CALLER_ID) == ENTER_PIN
    assert call.conv.data["identified_by"] == "caller_id"


def test_denying_the_caller_id_account_asks_for_the_number(dial: Dial, ada: Account) -> None:
    call = dial(caller=ADA_PHONE)
    assert call.keys("", "2") == ENTER_ACCOUNT
    assert "account_number" not in call.conv.data
    assert call.press("70000002") == ENTER_PIN
    assert call.conv.data == {"account_number": "70000002", "identified_by": "keypad"}


@pytest.mark.parametrize(
    ("caller", "keys"),
    [
        pytest.param(None, (), id="greeting"),
        pytest.param(ADA_PHONE, ("",), id="caller-id-question"),
        pytest.param(None, ("",), id="account-number"),
        pytest.param(None, BY_KEYPAD, id="pin"),
        pytest.param(None, (*BY_KEYPAD, "1234"), id="account-detail"),
    ],
)
def test_0_reaches_a_person_before_verification(
    dial: Dial, settings: Settings, ada: Account, caller: str | None, keys: tuple[str, ...]
) -> None:
    call = dial(caller=caller)
    call.keys(*keys)
    assert call.press("0") == transfer(settings)
    transferred_unverified(call, settings, caller)
    assert agent_whisper(call.conv) == (Prompt("agent_whisper_unverified"),)


def test_a_caller_who_forgot_the_pin_is_offered_a_person_and_marked_unverified(
    dial: Dial, settings: Settings, ada: Account
) -> None:
    call = dial(caller=ADA_PHONE)
    assert call.keys(*BY_CALLER_ID, "9999", "94105") == FAILED_BY_CALLER_ID
    assert call.press("0") == transfer(settings)
    transferred_unverified(call, settings, ADA_PHONE)
    assert agent_whisper(call.conv) == (Prompt("agent_whisper_not_verified_after_failure"),)
    event = call.session.scalars(select(AuditEvent)).all()[-1]
    assert event.detail["failed_verifications"] == 1


# The account's language


@pytest.fixture
def spanish_account(db: Session, settings: Settings) -> Account:
    return add_account(db, settings, language="es-US")


def test_the_accounts_language_leads_once_the_caller_id_names_it(
    dial: Dial, spanish_account: Account
) -> None:
    call = dial(caller=ADA_PHONE)
    call.silence()
    assert call.conv.language == "es-US"


def test_a_language_chosen_at_the_greeting_stays(dial: Dial, spanish_account: Account) -> None:
    call = dial(caller=ADA_PHONE, language="es-US")
    call.press("1")  # "For English, press 1"
    call.keys("1", "1234", "94105")
    assert (call.conv.language, call.conv.verified) == ("en-US", True)


def test_a_keyed_account_number_changes_no_language_until_verified(
    dial: Dial, spanish_account: Account
) -> None:
    call = dial(caller=STRANGER)
    call.keys(*BY_KEYPAD, "1234")
    assert call.conv.language == "en-US"  # nothing may tell which accounts exist
    call.press("94105")
    assert call.conv.language == "es-US"


@pytest.mark.parametrize("key", ["3", "*", "12", "x"])
def test_other_keys_at_the_confirmation_ask_again(dial: Dial, ada: Account, key: str) -> None:
    call = dial(caller=ADA_PHONE)
    call.silence()
    assert call.press(key) == after("invalid_choice", CONFIRM_ADA)
    assert call.state == "confirm_caller_account"


def test_two_accounts_on_the_callers_phone_ask_for_the_number(
    dial: Dial, db: Session, settings: Settings, ada: Account
) -> None:
    add_account(db, settings, account_number="70000002")
    call = dial(caller=ADA_PHONE)
    assert call.silence() == ENTER_ACCOUNT
    assert "account_number" not in call.conv.data


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        ("123", Prompt("invalid_account_format", {"min": 4, "max": 16})),
        ("1" * 17, Prompt("invalid_account_format", {"min": 4, "max": 16})),
        ("7000*001", Prompt("invalid_account_format", {"min": 4, "max": 16})),
        ("#", Prompt("invalid_account_format", {"min": 4, "max": 16})),
        ("abc", Prompt("invalid_choice")),
        ("7000 0001", Prompt("invalid_choice")),
        ("1" * 33, Prompt("invalid_choice")),
    ],
)
def test_a_malformed_account_number_is_asked_again(
    dial: Dial, ada: Account, keys: str, reason: Prompt
) -> None:
    call = dial()
    call.silence()
    assert call.press(keys) == after(reason, ENTER_ACCOUNT)
    assert call.state == "enter_account"
    assert "account_number" not in call.conv.data


def test_three_malformed_account_numbers_offer_help_before_goodbye(dial: Dial) -> None:
    call = dial()
    assert call.keys("", "1", "12", "123") == OFFER_HELP
    assert call.state == "enter_account"
    assert call.silence() == GOODBYE
    assert call.state == DONE


def test_after_the_offer_star_asks_again_and_1_gives_more_time(dial: Dial) -> None:
    call = dial()
    call.keys("", "1", "12", "123")
    assert call.press("*") == ENTER_ACCOUNT
    call.keys("1", "12")  # the offer is made once a question: then goodbye
    assert call.press("123") == Turn((Prompt("goodbye_too_many_attempts"),), end=Hangup())
    again = dial()
    again.keys("", "1", "12", "123")
    assert again.press("1") == after("more_time", ENTER_ACCOUNT)
    assert ConversationData(again.conv).more_time is True


def test_after_the_offer_0_reaches_a_person(dial: Dial, settings: Settings) -> None:
    call = dial()
    call.keys("", "1", "12", "123")
    assert call.press("0") == transfer(settings)
    transferred_unverified(call, settings, None)


@pytest.mark.parametrize("number", ["7000", "70000001", UNKNOWN, "1" * 16])
def test_any_well_formed_account_number_goes_on_to_the_pin(
    dial: Dial, ada: Account, number: str
) -> None:
    call = dial()
    assert call.keys("", number) == ENTER_PIN
    assert call.conv.data["account_number"] == number


# Verification


@pytest.mark.parametrize("pin", ["123", "123456789", "12*4", "#", "1234*"])
def test_a_malformed_pin_is_asked_again(dial: Dial, ada: Account, pin: str) -> None:
    call = dial()
    call.keys(*BY_KEYPAD)
    assert call.press(pin) == after("invalid_pin_format", ENTER_PIN)
    assert call.state == "enter_pin"
    assert "pin_ok" not in call.conv.data


def test_pin_then_zip_verifies(dial: Dial, ada: Account) -> None:
    call = dial()
    assert call.keys(*BY_KEYPAD, "1234") == ENTER_DETAIL
    assert call.press("94105") == VERIFIED
    assert call.state == "pay_offer"
    assert call.conv.verified is True
    assert call.conv.account_id == ada.id
    assert "pin_ok" not in call.conv.data


@pytest.mark.parametrize("detail", ["941", "941050", "9410*", "#"])
def test_a_malformed_detail_is_asked_again(dial: Dial, ada: Account, detail: str) -> None:
    call = dial()
    call.keys(*BY_KEYPAD, "1234")
    assert call.press(detail) == after("invalid_detail_format", ENTER_DETAIL)
    assert call.conv.verified is False


def test_an_account_without_a_zip_verifies_with_ssn_last4(
    dial: Dial, db: Session, settings: Settings
) -> None:
    account = add_account(
        db, settings, account_number="70000003", phone="", service_zip="", ssn_last4="6789"
    )
    call = dial(caller=STRANGER)
    # The question is the same as for any other account: it must not reveal which exist.
    assert call.keys("", "70000003", "1234") == ENTER_DETAIL
    assert call.press("678") == after("invalid_detail_format", ENTER_DETAIL)
    assert call.press("6789") == VERIFIED
    assert (call.conv.verified, call.conv.account_id) == (True, account.id)


@pytest.mark.parametrize(
    ("number", "pin", "zip_code"),
    [
        pytest.param("70000001", "9999", "94105", id="wrong-pin"),
        pytest.param("70000001", "1234", "94106", id="wrong-zip"),
        pytest.param("70000001", "9999", "00000", id="both-wrong"),
        pytest.param(UNKNOWN, "1234", "94105", id="no-such-account"),
    ],
)
def test_every_failure_sounds_the_same(
    dial: Dial, ada: Account, number: str, pin: str, zip_code: str
) -> None:
    call = dial()
    assert call.keys("", number, pin) == ENTER_DETAIL
    assert call.press(zip_code) == FAILED_BY_KEYPAD
    assert call.state == "enter_account"
    assert call.conv.verified is False
    assert call.conv.account_id is None
    assert call.conv.data == {
        "account_number": number,
        "identified_by": "keypad",
        "failed_attempts": 1,
        "_answered": True,  # "we could not verify those details" was said on the way
    }


@pytest.mark.parametrize(("pin", "zip_code"), [("9999", "94105"), ("1234", "94106")])
def test_a_caller_id_failure_asks_for_the_pin_again(
    dial: Dial, ada: Account, pin: str, zip_code: str
) -> None:
    call = dial(caller=ADA_PHONE)
    assert call.keys(*BY_CALLER_ID, pin, zip_code) == FAILED_BY_CALLER_ID
    assert call.press("1234") == ENTER_DETAIL
    assert call.press("94105") == VERIFIED


@pytest.mark.parametrize(
    ("caller", "identify", "failed"),
    [
        pytest.param(None, BY_KEYPAD, FAILED_BY_KEYPAD, id="keypad"),
        pytest.param(ADA_PHONE, BY_CALLER_ID, FAILED_BY_CALLER_ID, id="caller-id"),
    ],
)
def test_repeated_failures_lock_the_account_and_offer_a_person(
    dial: Dial,
    settings: Settings,
    ada: Account,
    caller: str | None,
    identify: tuple[str, ...],
    failed: Turn,
) -> None:
    call = dial(caller=caller)
    call.keys(*identify)
    for _ in range(settings.MAX_ACCOUNT_FAILURES - 1):
        assert call.keys("9999", "94105") == failed
        if failed.ask == ACCOUNT_ASK:
            call.press("70000001")
    assert call.keys("9999", "94105") == locked(settings)
    assert call.state == "locked"
    assert call.press("0") == transfer(settings)
    assert call.state == DONE
    assert transfers(call.session) == [(f"caller:{caller or 'unknown'}", "unverified", None)]
    assert agent_whisper(call.conv) == (Prompt("agent_whisper_not_verified_after_failure"),)


@pytest.mark.parametrize(("key", "event"), [("1", "press"), ("9", "press"), ("", "silence")])
def test_anything_but_0_at_the_lock_says_goodbye(
    dial: Dial, settings: Settings, ada: Account, key: str, event: str
) -> None:
    call = dial(caller=ADA_PHONE)
    call.keys(*BY_CALLER_ID)
    for _ in range(settings.MAX_ACCOUNT_FAILURES):
        call.keys("9999", "94105")
    assert call.state == "locked"
    turn = call.press(key) if event == "press" else call.silence()
    assert turn == Turn((Prompt("goodbye"),), end=Hangup())
    assert call.state == DONE


def test_a_locked_account_stays_locked_on_the_next_call(
    dial: Dial, settings: Settings, ada: Account
) -> None:
    first = dial(caller=ADA_PHONE)
    first.keys(*BY_CALLER_ID)
    for _ in range(settings.MAX_ACCOUNT_FAILURES):
        first.keys("9999", "94105")
    # Another phone, the right number: straight to the lock, before any PIN is asked.
    second = dial(caller=STRANGER)
    assert second.keys("", "70000001") == locked(settings)
    assert second.state == "locked"


# The offer to pay, then the main menu


def test_a_balance_due_is_offered_before_the_menu(dial: Dial, ada: Account) -> None:
    call = dial(caller=ADA_PHONE)
    assert call.keys(*BY_CALLER_ID, "1234", "94105") == VERIFIED
    turn = call.press("1")
    assert call.state == "card_number"
    assert call.conv.data["pay"] == {"amount": 14250, "fee": 0, "then": "payment_receipt"}
    assert turn.say[-1] == Prompt("enter_card_number")


@pytest.mark.parametrize("event", ["2", "silence"])
def test_2_or_silence_at_the_offer_goes_to_the_menu(dial: Dial, ada: Account, event: str) -> None:
    call = dial(caller=ADA_PHONE)
    call.keys(*BY_CALLER_ID, "1234", "94105")
    assert (call.silence() if event == "silence" else call.press(event)) == FIRST_MENU


def test_nothing_to_pay_goes_straight_to_the_menu(
    dial: Dial, db: Session, settings: Settings
) -> None:
    add_account(db, settings, balance="0.00", minimum_due="0")
    call = dial(caller=ADA_PHONE)
    assert call.keys(*BY_CALLER_ID, "1234", "94105") == after("verified", FIRST_MENU)


def test_balance_and_last_payment_then_anything_else(at_menu: Call) -> None:
    assert at_menu.press("2") == Turn(
        (BALANCE, MINIMUM, Prompt("no_payments"), Prompt("anything_else")), MENU_ASK
    )
    assert at_menu.state == "main_menu"
    assert at_menu.press("*") == MAIN_MENU  # the whole menu, when asked for


def test_silence_after_anything_else_says_goodbye(at_menu: Call) -> None:
    at_menu.press("2")
    assert at_menu.silence() == GOODBYE
    assert at_menu.state == DONE


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"minimum_due": "142.50"}, (BALANCE,)),
        ({"minimum_due": "0"}, (BALANCE,)),
        (
            {"minimum_due": "0", "due_date": "2026-02-20"},
            (
                Prompt(
                    "balance_past_due",
                    {"amount": Money(14250), "date": SpokenDate(dt.date(2026, 2, 20))},
                ),
            ),
        ),
        (
            {"due_date": "", "minimum_due": ""},
            (Prompt("balance_no_date", {"amount": Money(14250)}),),
        ),
        ({"balance": "0.00", "minimum_due": "0"}, (Prompt("no_balance"),)),
        (
            {"balance": "-20.00", "minimum_due": "0"},
            (Prompt("balance_credit", {"amount": Money(2000)}),),
        ),
        (
            {"balance": "1234.05", "minimum_due": "0.01", "due_date": "2027-01-01"},
            (
                Prompt(
                    "balance",
                    {"amount": Money(123405), "date": SpokenDate(dt.date(2027, 1, 1))},
                ),
                Prompt("minimum_due", {"amount": Money(1)}),
            ),
        ),
    ],
)
def test_balance_variants(
    dial: Dial, db: Session, settings: Settings, overrides: dict[str, str], expected: tuple
) -> None:
    add_account(db, settings, **overrides)
    call = dial(caller=ADA_PHONE)
    call.keys(*BY_CALLER_ID, "1234", "94105")
    if call.state == "pay_offer":
        call.press("2")
    assert call.press("2") == Turn(
        (*expected, Prompt("no_payments"), Prompt("anything_else")), MENU_ASK
    )


def test_last_payment_says_the_latest_approved_one(at_menu: Call, ada: Account) -> None:
    def payment(n: int, cents: int, status: PaymentStatus, at: dt.datetime) -> Payment:
        return Payment(
            account_id=ada.id,
            amount_cents=cents,
            status=status,
            idempotency_key=f"key-{n}",
            confirmation_number=f"50055501{n:02d}",
            channel="voice",
            gateway="sandbox",
            created_at=at,
        )

    at_menu.session.add_all(
        [
            payment(1, 5000, PaymentStatus.APPROVED, NOW - dt.timedelta(days=40)),
            # 03:30 UTC is still the evening before in the account's time zone (New York).
            payment(
                2, 14250, PaymentStatus.APPROVED, dt.datetime(2026, 3, 1, 3, 30, tzinfo=dt.UTC)
            ),
            payment(3, 9900, PaymentStatus.DECLINED, NOW - dt.timedelta(hours=1)),
        ]
    )
    at_menu.session.commit()
    last = Prompt(
        "last_payment",
        {
            "amount": Money(14250),
            "date": SpokenDate(dt.date(2026, 2, 28)),
            "number": SpokenDigits("5005550102", (3, 3, 4)),
        },
    )
    assert at_menu.press("2") == Turn((BALANCE, MINIMUM, last, Prompt("anything_else")), MENU_ASK)


def test_3_offers_more_time_to_pay(at_menu: Call) -> None:
    # Due Saturday, December 19: 14 days later is Saturday, January 2, moved back past New
    # Year's Day to Thursday, December 31.
    turn = at_menu.press("3")
    assert at_menu.state == "arrangement_offer"
    assert turn.say[0] == Prompt(
        "arrangement_offer_extension", {"date": SpokenDate(dt.date(2026, 12, 31))}
    )


def test_1_opens_the_pay_menu(at_menu: Call) -> None:
    turn = at_menu.press("1")
    assert at_menu.state == "pay_menu"
    assert turn.say[0] == Prompt("pay_menu_full", {"amount": Money(14250), "digit": 1})


@pytest.mark.parametrize(
    ("key", "state"),
    [("1", "dispute_menu"), ("2", "assistance_programs"), ("*", "main_menu")],
)
def test_4_holds_the_other_choices(at_menu: Call, key: str, state: str) -> None:
    assert at_menu.press("4") == Turn(
        (Prompt("other_choices_menu"), Prompt("switch_language", language="es-US")), MENU_ASK
    )
    at_menu.press(key)
    assert at_menu.state == state


def test_other_choices_3_turns_slower_prompts_on(at_menu: Call) -> None:
    at_menu.press("4")
    assert at_menu.press("3") == after("slow_prompts_on", ANYTHING_ELSE)
    assert ConversationData(at_menu.conv).slow is True


def test_9_at_the_menu_switches_language_and_asks_again(at_menu: Call) -> None:
    assert at_menu.press("9") == MAIN_MENU
    assert at_menu.conv.language == "es-US"
    assert at_menu.press("9") == MAIN_MENU
    assert at_menu.conv.language == "en-US"


def test_9_at_the_other_choices_offers_the_language_it_switches_to(at_menu: Call) -> None:
    at_menu.press("4")
    assert at_menu.press("9") == Turn(
        (Prompt("other_choices_menu"), Prompt("switch_language", language="en-US")), MENU_ASK
    )
    assert at_menu.conv.language == "es-US"


def test_0_transfers_a_verified_caller(at_menu: Call, settings: Settings) -> None:
    assert at_menu.press("0") == transfer(settings)
    assert at_menu.state == DONE
    assert transfers(at_menu.session) == [(f"caller:{ADA_PHONE}", "verified", "account:70000001")]
    assert agent_whisper(at_menu.conv) == (
        Prompt("agent_whisper_verified", {"last4": SpokenDigits("0001")}),
    )


def test_star_repeats_the_menu(at_menu: Call) -> None:
    assert at_menu.press("*") == MAIN_MENU
    assert at_menu.press("*") == MAIN_MENU
    assert at_menu.state == "main_menu"


@pytest.mark.parametrize("keys", ["8", "#", "12", "1*", "abc", " "])
def test_other_keys_at_the_menu_ask_again(at_menu: Call, keys: str) -> None:
    assert at_menu.press(keys) == after("invalid_choice", MAIN_MENU)
    assert at_menu.state == "main_menu"


def test_three_wrong_keys_at_the_menu_offer_help_first(at_menu: Call) -> None:
    at_menu.press("8")
    at_menu.press("7")
    assert at_menu.press("#") == OFFER_HELP
    assert at_menu.press("5") == GOODBYE
    assert at_menu.state == DONE


def test_silence_at_the_menu_repeats_it_offers_help_then_says_goodbye(at_menu: Call) -> None:
    assert at_menu.silence() == after("no_input", MAIN_MENU)
    assert at_menu.state == "main_menu"
    assert at_menu.silence() == OFFER_HELP
    assert at_menu.silence() == GOODBYE
    assert at_menu.state == DONE


def test_a_finished_call_only_says_goodbye(at_menu: Call) -> None:
    at_menu.press("2")
    at_menu.silence()
    assert at_menu.press("1") == GOODBYE
