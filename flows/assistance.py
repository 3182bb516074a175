"""Assistance programs (other choices 2; by text, 6): read on request, and texted with 1.

The list is the billing team's file (``payments.assistance``), read on each request; a file
that has become unreadable is logged and the caller is offered a representative instead.
"""

from __future__ import annotations

import logging

from flows.context import Context, phrase, verified_account
from flows.engine import Ask, Go, Retry, Step, Turn
from flows.receipts import text_recipient
from ivr import logs, outbox
from ivr.models import Conversation
from payments.assistance import Program, ProgramsError, load
from prompts import Prompt, SpokenDigits, render

log = logging.getLogger("ivr.assistance")
PHONE_GROUPS = (3, 3, 4)


def _programs(ctx: Context) -> tuple[Program, ...]:
    try:
        return load(ctx.settings.ASSISTANCE_PROGRAMS_FILE)
    except ProgramsError as error:
        logs.event(log, "assistance.unreadable", logging.ERROR, error=str(error))
        return ()


def _program(key: str, program: Program) -> Prompt:
    phone = SpokenDigits(program.phone, PHONE_GROUPS)
    return phrase(key, name=program.name, phone=phone, url=program.url or "-")


class AssistancePrograms(Step):
    """Each program's name and number; 1 texts the list, 2 repeats it."""

    name = "assistance_programs"
    goes_to = ("assistance_programs", "main_menu", "agent")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        programs = _programs(ctx)
        if not programs:
            return Turn((phrase("assistance_none"),), Ask())
        spoken = tuple(_program("assistance_program", program) for program in programs)
        return Turn(
            (phrase("assistance_intro"), *spoken, phrase("assistance_options")), Ask(timeout=8)
        )

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "1" and (programs := _programs(ctx)):
            return Go("main_menu", (self._text(conv, ctx, programs),))
        if digits == "2":
            return Go(self.name)
        if digits == "0":
            return Go("agent")
        if digits == "*":
            return Go("main_menu")
        return Retry(phrase("invalid_choice"))

    def _text(self, conv: Conversation, ctx: Context, programs: tuple[Program, ...]) -> Prompt:
        phone = text_recipient(ctx.session, conv, verified_account(conv))
        if phone is None:
            return phrase("receipt_no_phone")
        lines = [
            render(
                phrase("assistance_text", company=ctx.settings.COMPANY_NAME), conv.language, "text"
            ),
            *(
                render(_program("assistance_program_text", p), conv.language, "text")
                for p in programs
            ),
        ]
        outbox.enqueue(ctx.session, "sms", phone, "\n".join(lines))
        return phrase("receipt_texted", last4=SpokenDigits(phone[-4:]))


ASSISTANCE_STEPS: tuple[Step, ...] = (AssistancePrograms(),)
