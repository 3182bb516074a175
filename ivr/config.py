"""Settings, read once from the environment at start-up.

Every knob an operator can turn is a field of :class:`Settings`, named exactly like its
environment variable. Development mode ships working defaults (SQLite, sandbox gateway, a dev
auth token the simulator also knows). Those values are published, so anything Twilio or a
browser could reach (production, or any ``PUBLIC_BASE_URL`` that is not this machine) refuses
to start with them, or with a secret too short to resist guessing.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

Choice = TypeVar("Choice")

DEV_AUTH_TOKEN = "dev-auth-token-not-secret"  # noqa: S105 - documented development default
DEV_ACCOUNT_SID = "AC" + "0" * 32

_DEV_SECRETS = {
    "TWILIO_AUTH_TOKEN": DEV_AUTH_TOKEN,
    "PIN_PEPPER": "dev-pin-pepper-not-secret",
    "CAPTURE_KEY": "ZGV2LWNhcHR1cmUta2V5LTMyLWJ5dGVzLW5vdC1zZWM=",
    "SECRET_KEY": "dev-secret-key-not-secret",
}


@dataclass(frozen=True)
class _SecretRule:
    """What a deployed secret must be: at least ``min_length`` characters in each of its
    comma-separated values (a rotation lists several), and how the operator makes one."""

    min_length: int
    make: str
    listed: bool = False


# Twilio's auth tokens are 32 hex digits; the others get 32 random bytes from the command.
_SECRET_RULES = {
    "TWILIO_AUTH_TOKEN": _SecretRule(
        32, "copy your account's Auth Token from the Twilio console (32 characters)"
    ),
    "PIN_PEPPER": _SecretRule(32, "generate one with: openssl rand -hex 32", listed=True),
    "CAPTURE_KEY": _SecretRule(44, "generate one with: openssl rand -base64 32", listed=True),
    "SECRET_KEY": _SecretRule(32, "generate one with: openssl rand -hex 32"),
}
# Names that can never be a deployment Twilio reaches (RFC 6761): this machine, and the names
# reserved for documentation and tests, such as the test suite's https://pay.example.com.
_RESERVED_DOMAINS = (
    "localhost",
    "test",
    "example",
    "invalid",
    *(f"example.{tld}" for tld in ("com", "net", "org")),
)


class ConfigError(RuntimeError):
    """The configuration cannot run; the message says what to set."""


def unknown(name: str, value: str, known: Iterable[str]) -> ConfigError:
    """The error for a setting that names none of the ``known`` choices."""
    return ConfigError(f"{name}={value!r} is unknown; use one of: {', '.join(known)}.")


def choose(table: Mapping[str, Choice], settings: Settings, name: str) -> Choice:
    """What the setting ``name`` chooses from ``table`` (an adapter class, by its name)."""
    value: str = getattr(settings, name)
    if value not in table:
        raise unknown(name, value, table)
    return table[value]


def _default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'instance' / 'ivr.sqlite3'}"


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Field names are the environment variable names."""

    IVR_ENV: str = "development"
    DATABASE_URL: str = field(default_factory=_default_database_url)
    PUBLIC_BASE_URL: str = "http://127.0.0.1:5000"
    TWILIO_ACCOUNT_SID: str = DEV_ACCOUNT_SID
    TWILIO_AUTH_TOKEN: str = ""
    VERIFY_SIGNATURES: bool = True
    PAYMENT_GATEWAY: str = "sandbox"
    BANK_RAIL: str = "sandbox"
    SANDBOX_DELAY_MS: int = 0
    STRIPE_API_KEY: str = ""
    STRIPE_API_BASE: str = "https://api.stripe.com"
    GATEWAY_TIMEOUT_SECONDS: int = 10
    CAPTURE_MODE: str = "dtmf"
    PAY_CONNECTOR: str = "Default"
    CAPTURE_TTL_MINUTES: int = 5
    PAYMENT_MIN_CENTS: int = 100
    PAYMENT_MAX_CENTS: int = 500_000
    ALLOW_OVERPAYMENT: bool = False
    FEE_FLAT_CENTS: int = 0
    FEE_BASIS_POINTS: int = 0
    # Card testing: declined cards tried per call or pay link, and per account in 24 hours
    MAX_DECLINES_PER_SESSION: int = 3
    MAX_DECLINES_PER_ACCOUNT: int = 5
    ARRANGEMENT_STATUSES: str = "active,past_due"
    EXTENSION_MAX_DAYS: int = 14
    EXTENSION_MAX_DAYS_PAST_DUE: int = 30
    ARRANGEMENT_WINDOW_DAYS: int = 180
    MAX_ARRANGEMENTS_IN_WINDOW: int = 1
    MAX_BROKEN_PROMISES: int = 0
    INSTALLMENTS_MIN: int = 2
    INSTALLMENTS_MAX: int = 6
    INSTALLMENT_MIN_CENTS: int = 2000
    DOWN_PAYMENT_PERCENT: int = 0
    RECONNECTION_FEE_CENTS: int = 5000
    RECONNECTION_HOURS: int = 24
    INSTALLMENT_ATTEMPTS: int = 3
    INSTALLMENT_RETRY_DAYS: int = 3
    REMINDER_DAYS: int = 3
    HOLIDAY_CALENDAR: str = "US"
    ASSISTANCE_PROGRAMS_FILE: str = ""
    TELEPHONY: str = "local"
    TWILIO_FROM_NUMBER: str = "+15005550000"
    SMTP_HOST: str = ""
    SMTP_PORT: int = 587
    SMTP_USERNAME: str = ""
    SMTP_PASSWORD: str = ""
    SMTP_STARTTLS: bool = True
    MAIL_FROM: str = "billing@example.com"
    PIN_PEPPER: str = ""
    CAPTURE_KEY: str = ""
    SECRET_KEY: str = ""
    COMPANY_NAME: str = "Riverside Utilities"
    AGENT_NUMBER: str = "+15005550100"
    DEFAULT_REGION: str = "US"
    DEFAULT_TIME_ZONE: str = "America/New_York"
    DEFAULT_LANGUAGE: str = "en-US"
    MAX_ACCOUNT_FAILURES: int = 3
    MAX_CALLER_FAILURES: int = 5
    MAX_ANONYMOUS_FAILURES: int = 20
    HARD_LOCK_AFTER: int = 3
    LOCKOUT_MINUTES: int = 30
    SESSION_TTL_MINUTES: int = 30
    LOG_LEVEL: str = "INFO"
    # Text channel, secure pay page, accessible voice
    TEXT_SESSION_IDLE_MINUTES: int = 15
    PAYLINK_TTL_MINUTES: int = 15
    RELAY_CALLER_IDS: str = ""
    SLOW_PROMPT_TIMEOUT_FACTOR: int = 3
    MORE_TIME_TIMEOUT_FACTOR: int = 2
    # Agent console and agent-assisted capture
    AGENT_TRANSFER: str = "queue"
    AGENT_QUEUE: str = "agents"
    HOLD_MUSIC_URL: str = "https://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
    AGENT_MAX_FAILED_LOGINS: int = 5
    AGENT_LOCKOUT_MINUTES: int = 15
    AGENT_SESSION_MINUTES: int = 480
    AGENT_MAX_FAILED_LOGINS_PER_ADDRESS: int = 30
    CONSOLE_IDLE_MINUTES: int = 30
    SESSION_COOKIE_SECURE: bool = False
    # Operations
    METRICS_TOKEN: str = ""
    # Largest request body read (bytes); larger ones get 413 unread. Twilio's largest webhook,
    # an SMS of 1,600 characters percent-encoded with its media URLs, stays under 32 KiB.
    MAX_CONTENT_LENGTH: int = 64 * 1024

    @property
    def production(self) -> bool:
        return self.IVR_ENV == "production"

    @property
    def deployed(self) -> bool:
        """Whether others can reach this app: production, or a public URL that is neither
        loopback nor a reserved name. A deployment's secrets must not be published ones."""
        return self.production or not _local_only(self.PUBLIC_BASE_URL)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _local_only(url: str) -> bool:
    host = (urllib.parse.urlsplit(url).hostname or "").rstrip(".").lower()
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return any(host == name or host.endswith("." + name) for name in _RESERVED_DOMAINS)


def _secret_problems(settings: Settings, unset: list[str]) -> list[str]:
    """Why each secret of a deployment is unfit (unset, a published development value, or
    too short), with how to make a good one; empty when all are fit."""
    problems = []
    for name, rule in _SECRET_RULES.items():
        setting: str = getattr(settings, name)
        values = [part.strip() for part in setting.split(",")] if rule.listed else [setting]
        values = [value for value in values if value]
        if name in unset:
            problems.append(
                f"{name} is not set (its development default is published); {rule.make}"
            )
        elif _DEV_SECRETS[name] in values:
            problems.append(f"{name} is the published development value; {rule.make}")
        elif not values or any(len(value) < rule.min_length for value in values):
            problems.append(
                f"{name} is too short (at least {rule.min_length} characters"
                + (" in each comma-separated value" if rule.listed else "")
                + f"); {rule.make}"
            )
    return problems


def _coerce(kind: type | str, raw: str, name: str) -> Any:
    kind_name = kind if isinstance(kind, str) else kind.__name__
    if kind_name == "bool":
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false.")
    if kind_name == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a whole number.") from None
    return raw


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Build settings from the environment, then ``overrides`` (used by tests and the CLI).

    Missing secrets fall back to documented development values, except in production,
    where every missing secret is reported at once so the operator can fix them in one go.
    A deployment (:attr:`Settings.deployed`) refuses published and too-short secrets, each
    named with how to make a good one. Entry points read settings through
    ``ivr.channels.services.checked_settings``, which adds the rules of the adapters and
    policies that the kernel may not import.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name in environ and environ[f.name] != "":
            values[f.name] = _coerce(f.type, environ[f.name], f.name)
    values.update(overrides or {})
    settings = Settings(**values)

    missing = [name for name in _DEV_SECRETS if not getattr(settings, name)]
    if settings.DEFAULT_LANGUAGE not in ("en-US", "es-US"):
        raise ConfigError(f"DEFAULT_LANGUAGE={settings.DEFAULT_LANGUAGE!r}: use en-US or es-US.")
    if min(settings.MAX_DECLINES_PER_SESSION, settings.MAX_DECLINES_PER_ACCOUNT) < 1:
        raise ConfigError(
            "MAX_DECLINES_PER_SESSION and MAX_DECLINES_PER_ACCOUNT must be 1 or more "
            "(the defaults are 3 and 5)."
        )
    if settings.production:
        if "PUBLIC_BASE_URL" not in values:
            missing.append("PUBLIC_BASE_URL")
        if missing:
            raise ConfigError(
                "IVR_ENV=production needs these settings: "
                + ", ".join(missing)
                + ". Set them in the environment (see docs/configuration.md)."
                + "".join(
                    f"\n  {name}: {_SECRET_RULES[name].make}"
                    for name in missing
                    if name in _SECRET_RULES
                )
            )
        if not settings.VERIFY_SIGNATURES:
            raise ConfigError("VERIFY_SIGNATURES=false is refused in production.")
        if settings.TELEPHONY != "twilio":
            raise ConfigError(
                "IVR_ENV=production needs TELEPHONY=twilio: the local adapter pauses no call "
                "recording during card capture and sends no texts."
            )
    else:
        settings = settings.replace(**{name: _DEV_SECRETS[name] for name in missing})
    problems = _secret_problems(settings, missing) if settings.deployed else []
    if problems:
        where = (
            "IVR_ENV=production"
            if settings.production
            else f"PUBLIC_BASE_URL={settings.PUBLIC_BASE_URL} (reachable by others)"
        )
        raise ConfigError(f"{where} refuses these secrets:\n  " + "\n  ".join(problems))
    return settings
