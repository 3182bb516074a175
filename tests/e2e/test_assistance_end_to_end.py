"""Assistance programs (main menu 6), whole calls through the simulator on both databases."""

import pytest
from sqlalchemy import select

from ivr.config import ConfigError
from ivr.models import OutboxMessage
from ivr.simulator.emulator import keys_from
from tests.conftest import simulator_for
from tests.support.cli import cli_env, run_ivr
from tests.support.keys import ASSISTANCE, in_spanish

PROGRAMS = (
    "name,phone,url\n"
    "LIHEAP energy assistance,1-800-555-0134,https://example.org/liheap\n"
    "Neighbors fund,212 555 0199,\n"
)


@pytest.fixture
def programs_file(tmp_path):
    path = tmp_path / "programs.csv"
    path.write_text(PROGRAMS)
    return path


def call(app, presses):
    return simulator_for(app).call(keys_from(presses), caller="+15005550006")


def test_programs_are_read_and_texted_on_request(db, make_app, programs_file, ada):
    app = make_app(ASSISTANCE_PROGRAMS_FILE=str(programs_file))
    record = call(app, [*ASSISTANCE, "1", "*"])
    assert any("Help paying your bill, 2." in line for line in record.said)
    assert "These programs can help you pay your bill." in record.said
    assert "LIHEAP energy assistance: call 8 0 0, 5 5 5, 0 1 3 4." in record.said
    assert "Neighbors fund: call 2 1 2, 5 5 5, 0 1 9 9." in record.said
    assert "I have sent it by text message to the number ending in 0 0 0 6." in record.said
    db.rollback()
    [text] = db.scalars(select(OutboxMessage)).all()
    assert (text.channel, text.recipient) == ("sms", "+15005550006")
    assert text.body == (
        "Riverside Utilities: programs that can help you pay your bill:\n"
        "LIHEAP energy assistance: 800-555-0134, https://example.org/liheap\n"
        "Neighbors fund: 212-555-0199, -"
    )


def test_an_edit_to_the_file_is_heard_on_the_next_call(make_app, programs_file, ada):
    app = make_app(ASSISTANCE_PROGRAMS_FILE=str(programs_file))
    programs_file.write_text("name,phone,url\nNew county fund,3125550111,\n")
    record = call(app, [*ASSISTANCE, "*"])
    assert "New county fund: call 3 1 2, 5 5 5, 0 1 1 1." in record.said
    assert not any("LIHEAP" in line for line in record.said)


def test_with_no_programs_a_representative_is_offered(db, make_app, ada):
    record = call(make_app(), [*ASSISTANCE, "0"])
    assert (
        "A representative can tell you about programs that help pay your bill. To speak with "
        "one, press 0. For the main menu, press star." in record.said
    )
    assert record.transfers == ["queue:agents"]


def test_a_file_broken_after_start_up_is_never_read_half(make_app, programs_file, ada):
    app = make_app(ASSISTANCE_PROGRAMS_FILE=str(programs_file))
    programs_file.write_text(PROGRAMS + "Broken,555,\n")
    record = call(app, [*ASSISTANCE, "*"])
    assert not any("LIHEAP" in line for line in record.said)
    assert any(line.startswith("A representative can tell you about") for line in record.said)


def test_a_broken_file_stops_start_up(make_app, tmp_path):
    bad = tmp_path / "programs.csv"
    bad.write_text("title,phone\n")
    with pytest.raises(ConfigError, match=r"ASSISTANCE_PROGRAMS_FILE: .*the header must be"):
        make_app(ASSISTANCE_PROGRAMS_FILE=str(bad))


def test_spanish_callers_hear_the_programs_in_spanish(make_app, programs_file, ada):
    app = make_app(ASSISTANCE_PROGRAMS_FILE=str(programs_file))
    record = call(app, [*in_spanish(ASSISTANCE), "*"])
    assert "Neighbors fund: llame al 2 1 2, 5 5 5, 0 1 9 9." in record.said


def test_the_billing_team_checks_the_file_with_the_cli(database_url, programs_file, tmp_path):
    env = cli_env(database_url, ASSISTANCE_PROGRAMS_FILE=str(programs_file))
    listed = run_ivr(["assistance", "list"], env)
    assert listed.exit_code == 0
    assert listed.stdout.splitlines()[1].split() == ["Neighbors", "fund", "212-555-0199", "-"]
    bad = tmp_path / "draft.csv"
    bad.write_text("name,phone,url\nFund,12,\n")
    checked = run_ivr(["assistance", "list", "--file", str(bad)], env)
    assert checked.exit_code == 1
    assert f"{bad}:2: '12' is not a US phone number" in checked.stderr
    unset = run_ivr(["assistance", "list"], cli_env(database_url))
    assert unset.stdout == "No assistance programs: set ASSISTANCE_PROGRAMS_FILE to a CSV file.\n"
