"""Settings from the environment (ivr/config.py): defaults, coercion, production checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.channels.services import checked_settings
from ivr.config import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, ConfigError, load_settings

DEV_SECRETS = load_settings(environ={})  # the published development values
HOW_TO_MAKE = {
    "TWILIO_AUTH_TOKEN": "copy your account's Auth Token from the Twilio console (32 characters)",
    "PIN_PEPPER": "generate one with: openssl rand -hex 32",
    "CAPTURE_KEY": "generate one with: openssl rand -base64 32",
    "SECRET_KEY": "generate one with: openssl rand -hex 32",
}

SECRETS = ("TWILIO_AUTH_TOKEN", "PIN_PEPPER", "CAPTURE_KEY", "SECRET_KEY")
PRODUCTION = {
    "IVR_ENV": "production",
    "PUBLIC_BASE_URL": "https://pay.example.com",
    "TWILIO_AUTH_TOKEN": "real-token-of-32-hex-digits-0123",
    "PIN_PEPPER": "real-pepper-from-openssl-rand-hex-32",
    "CAPTURE_KEY": "cmVhbC1jYXB0dXJlLWtleS0zMi1ieXRlcy1sb25nISE=",
    "SECRET_KEY": "real-secret-key-from-openssl-rand-hex",
    "TELEPHONY": "twilio",
}


def test_defaults_run_embedded_with_development_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})

    url = settings.DATABASE_URL
    assert url == f"sqlite:///{tmp_path}/instance/ivr.sqlite3"
    assert settings.IVR_ENV == "development" and not settings.production
    assert settings.PAYMENT_GATEWAY == "sandbox"
    assert settings.VERIFY_SIGNATURES is True
    assert settings.PUBLIC_BASE_URL == "http://127.0.0.1:5000"
    assert settings.TWILIO_ACCOUNT_SID == DEV_ACCOUNT_SID
    assert settings.TWILIO_AUTH_TOKEN == DEV_AUTH_TOKEN
    for name in SECRETS:
        assert getattr(settings, name), f"{name} has no development default"
    assert (settings.LOCKOUT_MINUTES, settings.MAX_ACCOUNT_FAILURES) == (30, 3)


def test_the_process_environment_is_read_when_none_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMPANY_NAME", "Lakeside Water")
    monkeypatch.setenv("LOCKOUT_MINUTES", "45")
    settings = load_settings()
    assert (settings.COMPANY_NAME, settings.LOCKOUT_MINUTES) == ("Lakeside Water", 45)


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("LOCKOUT_MINUTES", "45", 45),
        ("SMTP_PORT", " 2525 ", 2525),
        ("FEE_FLAT_CENTS", "-25", -25),
        ("VERIFY_SIGNATURES", "false", False),
        ("VERIFY_SIGNATURES", "0", False),
        ("VERIFY_SIGNATURES", "No", False),
        ("VERIFY_SIGNATURES", "off", False),
        ("ALLOW_OVERPAYMENT", "true", True),
        ("ALLOW_OVERPAYMENT", "1", True),
        ("ALLOW_OVERPAYMENT", " YES ", True),
        ("ALLOW_OVERPAYMENT", "on", True),
        ("COMPANY_NAME", "0", "0"),  # strings stay strings
        ("DATABASE_URL", "postgresql+psycopg://db/ivr", "postgresql+psycopg://db/ivr"),
    ],
)
def test_environment_values_are_coerced_to_the_setting_type(
    name: str, raw: str, value: object
) -> None:
    actual = getattr(load_settings(environ={name: raw}), name)
    assert actual == value
    assert type(actual) is type(value)


def test_empty_environment_values_mean_the_default() -> None:
    settings = load_settings(environ={"LOCKOUT_MINUTES": "", "TWILIO_AUTH_TOKEN": ""})
    assert (settings.LOCKOUT_MINUTES, settings.TWILIO_AUTH_TOKEN) == (30, DEV_AUTH_TOKEN)


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("LOCKOUT_MINUTES", "soon", "LOCKOUT_MINUTES='soon' is not a whole number."),
        ("SMTP_PORT", "25.5", "SMTP_PORT='25.5' is not a whole number."),
        ("PAYMENT_MAX_CENTS", "5,000", "PAYMENT_MAX_CENTS='5,000' is not a whole number."),
        (
            "VERIFY_SIGNATURES",
            "maybe",
            "VERIFY_SIGNATURES='maybe' is not a boolean; use true or false.",
        ),
        ("SMTP_STARTTLS", "2", "SMTP_STARTTLS='2' is not a boolean; use true or false."),
    ],
)
def test_unparseable_values_raise_config_error_naming_the_variable(
    name: str, raw: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={name: raw})
    assert str(raised.value) == message


def test_production_without_secrets_lists_every_missing_one() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={"IVR_ENV": "production"})
    assert str(raised.value) == (
        "IVR_ENV=production needs these settings: TWILIO_AUTH_TOKEN, PIN_PEPPER, CAPTURE_KEY, "
        "SECRET_KEY, PUBLIC_BASE_URL. Set them in the environment (see docs/configuration.md)."
        + "".join(f"\n  {name}: {HOW_TO_MAKE[name]}" for name in SECRETS)
    )


@pytest.mark.parametrize("name", [*SECRETS, "PUBLIC_BASE_URL"])
def test_production_names_just_the_one_missing_setting(name: str) -> None:
    environ = {key: value for key, value in PRODUCTION.items() if key != name}
    with pytest.raises(ConfigError, match=rf"needs these settings: {name}\. Set them"):
        load_settings(environ=environ)


def test_production_with_every_secret_keeps_them_and_adds_no_dev_defaults() -> None:
    settings = load_settings(environ=PRODUCTION)
    assert settings.production
    for name, value in PRODUCTION.items():
        assert getattr(settings, name) == value


@pytest.mark.parametrize(
    ("environ", "overrides"),
    [
        ({**PRODUCTION, "VERIFY_SIGNATURES": "false"}, {}),
        (PRODUCTION, {"VERIFY_SIGNATURES": False}),
    ],
    ids=["environment", "override"],
)
def test_production_refuses_to_skip_signature_checks(
    environ: dict[str, str], overrides: dict[str, object]
) -> None:
    with pytest.raises(ConfigError, match=r"^VERIFY_SIGNATURES=false is refused in production\.$"):
        load_settings(environ=environ, overrides=overrides)


def test_production_refuses_the_local_telephony_adapter() -> None:
    with pytest.raises(ConfigError, match=r"TELEPHONY=twilio"):
        load_settings(environ={**PRODUCTION, "TELEPHONY": "local"})


def test_development_may_skip_signature_checks() -> None:
    assert load_settings(environ={"VERIFY_SIGNATURES": "false"}).VERIFY_SIGNATURES is False


def test_overrides_win_over_the_environment() -> None:
    environ = {"LOCKOUT_MINUTES": "45", "DATABASE_URL": "sqlite:///env.db", "PIN_PEPPER": "env"}
    settings = load_settings(
        environ=environ,
        overrides={"LOCKOUT_MINUTES": 10, "DATABASE_URL": "sqlite:///override.db"},
    )
    assert (settings.LOCKOUT_MINUTES, settings.DATABASE_URL) == (10, "sqlite:///override.db")
    assert settings.PIN_PEPPER == "env"


def test_overrides_can_supply_production_secrets() -> None:
    secrets = {key: value for key, value in PRODUCTION.items() if key != "IVR_ENV"}
    settings = load_settings(environ={"IVR_ENV": "production"}, overrides=secrets)
    assert settings.production and secrets["PIN_PEPPER"] == settings.PIN_PEPPER


def test_unknown_environment_variables_are_ignored() -> None:
    settings = load_settings(environ={"HOME": "/root", "PATH": "/bin", "database_url": "x"})
    assert settings.DATABASE_URL != "x"


def test_settings_are_immutable_but_can_be_copied_with_changes() -> None:
    settings = load_settings(environ={})
    changed = settings.replace(LOCKOUT_MINUTES=5)
    assert (settings.LOCKOUT_MINUTES, changed.LOCKOUT_MINUTES) == (30, 5)
    with pytest.raises(AttributeError):
        settings.LOCKOUT_MINUTES = 5  # type: ignore[misc]


# --- published and weak secrets ---------------------------------------------------------------

DEPLOYED = pytest.mark.parametrize(
    "deployment",
    [
        pytest.param(PRODUCTION, id="production"),
        pytest.param(
            {
                **PRODUCTION,
                "IVR_ENV": "development",
                "PUBLIC_BASE_URL": "https://pay.riverside.com",
            },
            id="public-url-without-IVR_ENV",
        ),
    ],
)


@DEPLOYED
@pytest.mark.parametrize("name", SECRETS)
def test_a_deployment_refuses_each_published_development_secret(
    deployment: dict[str, str], name: str
) -> None:
    environ = {**deployment, name: getattr(DEV_SECRETS, name)}
    with pytest.raises(ConfigError) as raised:
        load_settings(environ=environ)
    message = str(raised.value)
    assert f"{name} is the published development value; {HOW_TO_MAKE[name]}" in message
    assert len(message.splitlines()) == 2  # the heading, and this one setting


@DEPLOYED
@pytest.mark.parametrize("name", SECRETS)
def test_a_deployment_refuses_each_too_short_secret(deployment: dict[str, str], name: str) -> None:
    short = PRODUCTION[name][:31]
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={**deployment, name: short})
    assert f"{name} is too short (at least " in str(raised.value)
    assert HOW_TO_MAKE[name] in str(raised.value)
    assert short not in str(raised.value)  # a secret, even a weak one, is never echoed


@DEPLOYED
@pytest.mark.parametrize("name", ["PIN_PEPPER", "CAPTURE_KEY"])
def test_a_rotation_list_may_not_keep_the_development_value(
    deployment: dict[str, str], name: str
) -> None:
    environ = {**deployment, name: f"{PRODUCTION[name]},{getattr(DEV_SECRETS, name)}"}
    with pytest.raises(ConfigError, match=f"{name} is the published development value"):
        load_settings(environ=environ)


def test_a_public_url_without_secrets_names_each_unset_one() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={"PUBLIC_BASE_URL": "https://pay.riverside.com"})
    assert str(raised.value) == (
        "PUBLIC_BASE_URL=https://pay.riverside.com (reachable by others) refuses these secrets:\n"
        + "\n".join(
            f"  {name} is not set (its development default is published); {HOW_TO_MAKE[name]}"
            for name in SECRETS
        )
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:8000",  # a private network is still others
        "http://0.0.0.0:5000",
        "https://example.com.evil.net",
        "https://notexample.com",
    ],
)
def test_any_other_public_url_is_a_deployment(url: str) -> None:
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN is not set"):
        load_settings(environ={"PUBLIC_BASE_URL": url})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000",
        "http://127.0.0.2",
        "http://localhost:5000",
        "http://LOCALHOST.:5000",
        "http://[::1]:5000",
        "https://pay.example.com",  # the test suite's: reserved, no deployment can have it
        "https://ivr.test",
    ],
)
def test_this_machine_and_reserved_names_start_with_development_secrets(url: str) -> None:
    settings = load_settings(environ={"PUBLIC_BASE_URL": url})
    assert not settings.deployed
    assert settings.TWILIO_AUTH_TOKEN == DEV_AUTH_TOKEN


def test_a_public_url_with_real_secrets_starts_in_development() -> None:
    public = {"IVR_ENV": "development", "PUBLIC_BASE_URL": "https://pay.riverside.com"}
    settings = load_settings(environ={**PRODUCTION, **public, "TELEPHONY": "local"})
    assert settings.deployed and not settings.production


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ({"PAYMENT_GATEWAY": "paypal"}, "PAYMENT_GATEWAY='paypal' is unknown; use one of: "),
        ({"PAYMENT_GATEWAY": "stripe"}, "PAYMENT_GATEWAY=stripe needs STRIPE_API_KEY."),
        ({"BANK_RAIL": "wire"}, "BANK_RAIL='wire' is unknown; use one of: sandbox."),
        ({"AGENT_TRANSFER": "fax"}, "AGENT_TRANSFER='fax' is unknown; use one of: queue, dial."),
        ({"CAPTURE_KEY": "c2hvcnQ="}, "generate one with: openssl rand -base64 32"),
        ({"TELEPHONY": "vonage"}, "TELEPHONY='vonage' is unknown; use one of: local, twilio."),
    ],
)
def test_settings_an_adapter_or_policy_cannot_use_stop_start_up(
    setting: dict[str, str], expected: str
) -> None:
    assert load_settings(environ=setting)  # the kernel alone lets them through
    with pytest.raises(ConfigError) as raised:
        checked_settings(environ=setting)
    assert expected in str(raised.value)
