"""Who the caller is: account lookup, PIN and account-detail checks, caller ID, lockout.

Answers never depend on whether an account exists: an unknown account number is checked
against a dummy hash and counted toward lockout exactly like a real one.
"""

from verification.credentials import keyed_hash
from verification.lookup import (
    accounts_for_caller,
    find_account,
    normalize_phone,
    readable_phone,
)
from verification.verifier import Verifier, VerifierPolicy

__all__ = [
    "Verifier",
    "VerifierPolicy",
    "accounts_for_caller",
    "find_account",
    "keyed_hash",
    "normalize_phone",
    "readable_phone",
]
