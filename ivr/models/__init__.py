"""The data model, one module per aggregate; every name is re-exported here.

Import models from ``ivr.models``, not from its modules: ``base`` (the declarative base, UTC
times, portable enums), ``accounts``, ``sessions`` (call and text conversations), ``payments``
(payments, card captures, saved methods, pay links), ``arrangements``, ``disputes``,
``agents`` (the console), ``lockouts``, ``reconnections`` (requests to restore service),
``bank`` (bank debits and their proof) and ``records`` (audit trail and outbox). The
development fakes' tables sit beside their fakes, on the same ``Base``:
``payments.gateways.sandbox_tables`` and ``ivr.adapters.local_tables``.

Money is integer cents. Times are stored as naive UTC and handed back timezone-aware
(:class:`UTCDateTime`), so SQLite and PostgreSQL behave alike. Secrets are never stored:
PINs and SSN last-4 are keyed hashes, and ``__repr__`` shows none of them.
"""

from ivr.models.accounts import Account, AccountPhone, AccountStatus, VoicePreference
from ivr.models.agents import (
    Agent,
    AgentCall,
    AgentCallStatus,
    AgentCapture,
    CaptureStatus,
    ConsoleSession,
)
from ivr.models.arrangements import (
    Arrangement,
    ArrangementInstallment,
    ArrangementKind,
    ArrangementStatus,
    InstallmentStatus,
)
from ivr.models.bank import BankAccountType, BankDebit, DebitState
from ivr.models.base import Base, UTCDateTime, utcnow
from ivr.models.disputes import Dispute, DisputeStatus
from ivr.models.lockouts import LockoutCounter
from ivr.models.payments import (
    CardCapture,
    PayLink,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from ivr.models.reconnections import ReconnectionRequest, ReconnectionStatus
from ivr.models.records import AuditEvent, OutboxMessage, OutboxStatus
from ivr.models.sessions import Conversation, SessionStatus, TextMessage, TextOptOut

__all__ = [
    "Account",
    "AccountPhone",
    "AccountStatus",
    "Agent",
    "AgentCall",
    "AgentCallStatus",
    "AgentCapture",
    "Arrangement",
    "ArrangementInstallment",
    "ArrangementKind",
    "ArrangementStatus",
    "AuditEvent",
    "BankAccountType",
    "BankDebit",
    "Base",
    "CaptureStatus",
    "CardCapture",
    "ConsoleSession",
    "Conversation",
    "DebitState",
    "Dispute",
    "DisputeStatus",
    "InstallmentStatus",
    "LockoutCounter",
    "OutboxMessage",
    "OutboxStatus",
    "PayLink",
    "Payment",
    "PaymentKind",
    "PaymentMethod",
    "PaymentStatus",
    "ReconnectionRequest",
    "ReconnectionStatus",
    "SessionStatus",
    "TextMessage",
    "TextOptOut",
    "UTCDateTime",
    "VoicePreference",
    "utcnow",
]
