"""Bank account field validation: the routing number and the account number.

The routing number must pass the ABA check digit (python-stdnum's ``us.rtn``) and begin as
the Federal Reserve assigns them: 00-12 (banks), 21-32 (thrifts), 61-72 (electronic) or 80
(traveler's checks). Each check returns a reason code, never the value.
"""

from __future__ import annotations

from enum import StrEnum

from stdnum.us import rtn

KNOWN_PREFIXES = frozenset({*range(0, 13), *range(21, 33), *range(61, 73), 80})
ACCOUNT_LENGTHS = range(4, 18)  # NACHA's DFI account number field holds 17


class BankFieldError(StrEnum):
    ROUTING_INVALID = "routing_invalid"
    ACCOUNT_INVALID = "account_invalid"
    ACCOUNT_MISMATCH = "account_mismatch"


def check_routing(digits: str) -> BankFieldError | None:
    """``None`` for a routing number a bank could have, else why not."""
    if len(digits) != 9 or not digits.isdigit() or not rtn.is_valid(digits):
        return BankFieldError.ROUTING_INVALID
    return None if int(digits[:2]) in KNOWN_PREFIXES else BankFieldError.ROUTING_INVALID


def check_account(digits: str) -> BankFieldError | None:
    if digits.isdigit() and len(digits) in ACCOUNT_LENGTHS:
        return None
    return BankFieldError.ACCOUNT_INVALID


def check_confirmation(first: str, second: str) -> BankFieldError | None:
    """The account number keyed twice must match."""
    return None if first == second else BankFieldError.ACCOUNT_MISMATCH
