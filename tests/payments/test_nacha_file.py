"""The NACHA file read column by column: the layout, the totals, tampering, returns."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.us import rtn

from payments.rails.nacha_file import (
    Debit,
    DebitReturn,
    NachaFormatError,
    Originator,
    ReturnCode,
    read_file,
    read_returns,
    write_file,
    write_returns,
)

UTILITY = Originator(
    immediate_destination="021000021",
    immediate_destination_name="FIRST CITY BANK",
    immediate_origin="1234567890",
    immediate_origin_name="Springfield Utilities",
    company_name="SPRINGFIELD UTIL",
    company_id="1234567890",
    company_entry_description="UTILITYPAY",
    odfi_routing="02100002",
)
CREATED = dt.datetime(2026, 12, 4, 9, 30, tzinfo=dt.UTC)
MONDAY = dt.date(2026, 12, 7)
TUESDAY = dt.date(2026, 12, 8)
ACCOUNTS = ("12345678901", "000987654321", "55501234", "7777")


def debit(**changes: object) -> Debit:
    base = Debit(
        sec_code="TEL",
        account_type="checking",
        routing_number="011000015",
        account_number=ACCOUNTS[0],
        amount_cents=14250,
        individual_id="100200300",
        individual_name="Ada Lovelace",
        effective_date=MONDAY,
        reference="PAY-1",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


DEBITS = [
    debit(),
    debit(
        sec_code="WEB",
        account_type="savings",
        routing_number="091000019",
        account_number=ACCOUNTS[1],
        amount_cents=5000,
        individual_id="100200301",
        individual_name="Grace Hopper",
        reference="PAY-2",
    ),
    debit(
        routing_number="122105278",
        account_number=ACCOUNTS[2],
        amount_cents=999,
        effective_date=TUESDAY,
        reference="PAY-3",
    ),
    debit(
        sec_code="WEB",
        routing_number="111000025",
        account_number=ACCOUNTS[3],
        amount_cents=120001,
        effective_date=TUESDAY,
        recurring=True,
        reference="PAY-4",
    ),
]


def lines(text: str) -> list[str]:
    return text.split("\n")[:-1]


def test_every_record_is_94_characters_in_blocks_of_ten():
    records = lines(write_file(UTILITY, DEBITS, created=CREATED).text)
    assert {len(record) for record in records} == {94}
    assert len(records) % 10 == 0
    assert [r[0] for r in records[:14]] == list("15685685685689")
    assert records[14:] == ["9" * 94] * 6


def test_the_file_header_columns():
    header = lines(write_file(UTILITY, DEBITS, created=CREATED, file_id_modifier="B").text)[0]
    assert header[0:3] == "101"
    assert header[3:13] == " 021000021"
    assert header[13:23] == "1234567890"
    assert header[23:29] == "261204"
    assert header[29:33] == "0930"
    assert header[33] == "B"
    assert header[34:40] == "094101"
    assert header[40:63] == "FIRST CITY BANK".ljust(23)
    assert header[63:86] == "SPRINGFIELD UTILITIES".ljust(23)
    assert header[86:94] == " " * 8


def test_batches_split_by_sec_code_and_effective_date():
    records = lines(write_file(UTILITY, DEBITS, created=CREATED).text)
    headers = [r for r in records if r[0] == "5"]
    assert [(h[50:53], h[69:75], h[87:94]) for h in headers] == [
        ("TEL", "261207", "0000001"),
        ("WEB", "261207", "0000002"),
        ("TEL", "261208", "0000003"),
        ("WEB", "261208", "0000004"),
    ]
    first = headers[0]
    assert first[1:4] == "225"
    assert first[4:20] == "SPRINGFIELD UTIL"
    assert first[40:50] == "1234567890"
    assert first[53:63] == "UTILITYPAY"
    assert first[78] == "1"
    assert first[79:87] == "02100002"


def test_the_entry_detail_columns():
    written = write_file(UTILITY, DEBITS, created=CREATED)
    entries = [r for r in lines(written.text) if r[0] == "6"]
    savings = entries[1]
    assert savings[1:3] == "37"
    assert savings[3:11] == "09100001"
    assert savings[11] == "9"
    assert savings[12:29] == ACCOUNTS[1].ljust(17)
    assert savings[29:39] == "0000005000"
    assert savings[39:54] == "100200301".ljust(15)
    assert savings[54:76] == "GRACE HOPPER".ljust(22)
    assert savings[76:78] == "S "
    assert savings[78] == "0"
    assert savings[79:94] == "021000020000002"
    assert entries[0][1:3] == "27"
    assert entries[0][76:78] == "S "
    assert entries[3][76:78] == "R "
    assert written.trace_numbers == {
        "PAY-1": "021000020000001",
        "PAY-2": "021000020000002",
        "PAY-3": "021000020000003",
        "PAY-4": "021000020000004",
    }


def test_entry_hash_and_totals_match_an_independent_sum():
    records = lines(write_file(UTILITY, DEBITS, created=CREATED).text)
    entries = [r for r in records if r[0] == "6"]
    entry_hash = sum(int(r[3:11]) for r in entries) % 10**10
    total = sum(int(r[29:39]) for r in entries)
    assert total == sum(d.amount_cents for d in DEBITS)
    control = next(r for r in records if r[0] == "9" and r != "9" * 94)
    assert control[1:7] == "000004"
    assert control[7:13] == "000002"
    assert control[13:21] == "00000004"
    assert control[21:31] == f"{entry_hash:010d}"
    assert control[31:43] == f"{total:012d}"
    assert control[43:55] == "0" * 12
    first_batch = next(r for r in records if r[0] == "8")
    assert first_batch[1:4] == "225"
    assert first_batch[4:10] == "000001"
    assert first_batch[10:20] == "0001100001"
    assert first_batch[20:32] == "000000014250"
    assert first_batch[44:54] == "1234567890"
    assert first_batch[79:94] == "021000020000001"


def test_read_file_gives_back_what_was_written():
    parsed = read_file(write_file(UTILITY, DEBITS, created=CREATED).text)
    assert parsed.header.immediate_destination == "021000021"
    assert parsed.header.created == CREATED.replace(tzinfo=None)
    assert parsed.batch_count == 4
    assert parsed.block_count == 2
    assert parsed.control.total_debit_cents == 14250 + 5000 + 999 + 120001
    entries = [entry for batch in parsed.batches for entry in batch.entries]
    assert [e.account_number for e in entries] == list(ACCOUNTS)
    assert [e.amount_cents for e in entries] == [14250, 5000, 999, 120001]
    assert [e.rdfi_routing for e in entries] == [d.routing_number for d in DEBITS]


def tamper(text: str, line: int, start: int, new: str) -> str:
    records = text.split("\n")
    records[line] = records[line][:start] + new + records[line][start + len(new) :]
    return "\n".join(records)


GOOD = write_file(UTILITY, DEBITS, created=CREATED).text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            tamper(GOOD, 2, 29, "0000014251"),
            "line 4 (batch control), total debit amount: says 14250",
        ),
        (
            tamper(GOOD, 3, 20, "000000014251"),
            "line 4 (batch control), total debit amount: says 14251",
        ),
        (tamper(GOOD, 3, 10, "0001100002"), "line 4 (batch control), entry hash: says 1100002"),
        (tamper(GOOD, 2, 29, "00000142x0"), "line 3 (entry detail), amount: positions 30-39"),
        (tamper(GOOD, 2, 11, "6"), "line 3 (entry detail), check digit"),
        (tamper(GOOD, 2, 1, "99"), "line 3 (entry detail), transaction code"),
        (GOOD.replace("\n", "\nshort\n", 1), "line 2 (record), length: 5 characters"),
        (tamper(GOOD, 0, 0, "5"), "line 1 (batch header), record type and priority"),
        ("\n".join(GOOD.split("\n")[:-2]) + "\n", "not a multiple of the blocking factor 10"),
        (tamper(GOOD, 13, 7, "000003"), "line 14 (file control), block count: says 3"),
        (tamper(GOOD, 13, 31, "000000140251"), "file control), total debit amount: says 140251"),
        (tamper(GOOD, 19, 0, "8"), "line 20 (batch control), record type code"),
        (tamper(tamper(GOOD, 1, 87, "0000002"), 3, 87, "0000002"), "batch number: should be 1"),
        (tamper(GOOD, 2, 78, "1"), "addenda record indicator"),
        (tamper(GOOD, 2, 79, "09100001"), "line 3 (entry detail), trace number: positions 80-87"),
    ],
)
def test_a_tampered_file_is_refused_saying_where(text: str, message: str):
    with pytest.raises(NachaFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_file(text)


def test_trace_numbers_out_of_order_in_a_batch_are_refused():
    same_batch = [DEBITS[0], replace(DEBITS[2], effective_date=MONDAY)]
    text = tamper(write_file(UTILITY, same_batch, created=CREATED).text, 3, 87, "0000000")
    with pytest.raises(NachaFormatError, match=r"line 4 \(entry detail\), trace number: not in"):
        read_file(text)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"routing_number": "123456789"}, "routing_number: not a valid 9-digit ABA routing"),
        ({"routing_number": "01100001"}, "routing_number: not a valid"),
        ({"account_number": "12345-678"}, "account_number must be 1 to 17 digits"),
        ({"account_number": "123456789012345678"}, "account_number must be 1 to 17 digits"),
        ({"account_number": ""}, "account_number must be 1 to 17 digits"),
        ({"amount_cents": 0}, "amount_cents must be 1 to"),
        ({"amount_cents": 10**10}, "amount_cents must be 1 to"),
        ({"sec_code": "CCD"}, "sec_code must be one of"),
        ({"account_type": "loan"}, "account_type must be checking or savings"),
        ({"individual_name": "A" * 23}, "individual_name: must be at most 22"),
        ({"individual_name": "Zoë"}, "individual_name: only printable ASCII"),
    ],
)
def test_a_bad_field_is_refused_when_the_debit_is_made(changes: dict[str, object], message: str):
    with pytest.raises(NachaFormatError, match=message) as raised:
        debit(**changes)
    assert str(raised.value).startswith("debit PAY-1: ")


def test_an_originator_field_too_long_or_wrong_is_refused():
    with pytest.raises(NachaFormatError, match="company_name: must be at most 16"):
        replace(UTILITY, company_name="SPRINGFIELD UTILITIES")
    with pytest.raises(NachaFormatError, match="immediate_origin: must be exactly 10"):
        replace(UTILITY, immediate_origin="123")
    with pytest.raises(NachaFormatError, match="odfi_routing"):
        replace(UTILITY, odfi_routing="021000021")
    with pytest.raises(NachaFormatError, match="file_id_modifier"):
        write_file(UTILITY, DEBITS, created=CREATED, file_id_modifier="*")
    with pytest.raises(NachaFormatError, match="each reference must appear once"):
        write_file(UTILITY, [DEBITS[0], DEBITS[0]], created=CREATED)


def test_no_account_number_shows_in_a_repr_or_an_error():
    account = "98765432109876"
    shown = [repr(debit(account_number=account))]
    entry = read_file(write_file(UTILITY, [debit(account_number=account)], created=CREATED).text)
    shown.append(repr(entry.batches[0].entries[0]))
    assert "9876'" in shown[0] and "9876'" in shown[1]
    text = write_file(UTILITY, [debit(account_number=account)], created=CREATED).text
    broken = [
        tamper(text, 2, 29, "000001425x"),
        tamper(text, 2, 11, "6"),
        tamper(text, 2, 12, "x" * 20),
        tamper(text, 2, 78, "1"),
        text.replace(account, account + "1"),
    ]
    for bad in broken:
        with pytest.raises(NachaFormatError) as raised:
            read_file(bad)
        shown.append(str(raised.value))
    for changes in ({"account_number": account + "1234"}, {"account_number": account + "x"}):
        with pytest.raises(NachaFormatError) as raised:
            debit(**changes)
        shown.append(str(raised.value))
    assert all(account not in message and account[:8] not in message for message in shown)


def test_returns_round_trip():
    written = write_file(UTILITY, DEBITS, created=CREATED)
    returns = [
        DebitReturn(DEBITS[1], written.trace_numbers["PAY-2"], ReturnCode.R01),
        DebitReturn(DEBITS[3], written.trace_numbers["PAY-4"], ReturnCode.R10),
    ]
    text = write_returns(UTILITY, returns, created=CREATED + dt.timedelta(days=2)).text
    records = lines(text)
    entry, addenda = records[2], records[3]
    assert entry[1:3] == "36"
    assert entry[3:12] == UTILITY.immediate_destination
    assert entry[78] == "1"
    assert addenda[0:3] == "799"
    assert addenda[3:6] == "R01"
    assert addenda[6:21] == written.trace_numbers["PAY-2"]
    assert addenda[21:27] == " " * 6
    assert addenda[27:35] == "09100001"
    assert addenda[79:94] == entry[79:94]
    assert read_file(text).control.entry_addenda_count == 4
    returned = read_returns(text)
    assert [
        (r.original_trace_number, r.return_code, r.amount_cents, r.individual_id) for r in returned
    ] == [
        ("021000020000002", ReturnCode.R01, 5000, "100200301"),
        ("021000020000004", ReturnCode.R10, 120001, "100200300"),
    ]
    assert ReturnCode.R01.description == "insufficient funds"


def test_a_file_of_debits_is_not_a_return_file():
    with pytest.raises(NachaFormatError, match="a returned entry has one type-99 addenda"):
        read_returns(GOOD)


def test_an_unknown_return_reason_is_refused():
    written = write_file(UTILITY, DEBITS, created=CREATED)
    returns = [DebitReturn(DEBITS[0], written.trace_numbers["PAY-1"], ReturnCode.R02)]
    text = write_returns(UTILITY, returns, created=CREATED).text
    with pytest.raises(NachaFormatError, match=r"line 4 \(addenda\), return reason code"):
        read_returns(text.replace("799R02", "799R99"))


def test_every_return_code_has_a_description():
    assert {code.value for code in ReturnCode} >= {"R01", "R02", "R03", "R10", "R29"}
    assert all(code.description for code in ReturnCode)


ROUTING = st.from_regex(r"\A[0-9]{8}\Z").map(lambda eight: eight + rtn.calc_check_digit(eight))
NAME = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=22)
DEBIT = st.builds(
    Debit,
    sec_code=st.sampled_from(["TEL", "WEB", "PPD"]),
    account_type=st.sampled_from(["checking", "savings"]),
    routing_number=ROUTING,
    account_number=st.from_regex(r"\A[0-9]{1,17}\Z"),
    amount_cents=st.integers(1, 99_999_999_99),
    individual_id=st.from_regex(r"\A[0-9A-Z]{0,15}\Z"),
    individual_name=NAME,
    effective_date=st.dates(dt.date(2026, 1, 1), dt.date(2026, 1, 10)),
    reference=st.just(""),
    recurring=st.booleans(),
)


@given(st.lists(DEBIT, max_size=30))
def test_any_valid_debits_round_trip_with_totals_equal_to_their_sum(debits: list[Debit]):
    debits = [replace(d, reference=f"PAY-{n}") for n, d in enumerate(debits)]
    written = write_file(UTILITY, debits, created=CREATED)
    parsed = read_file(written.text)
    assert parsed.control.total_debit_cents == sum(d.amount_cents for d in debits)
    assert parsed.control.entry_addenda_count == len(debits)
    by_trace = {e.trace_number: e for b in parsed.batches for e in b.entries}
    for d in debits:
        entry = by_trace[written.trace_numbers[d.reference]]
        assert (entry.account_number, entry.amount_cents, entry.rdfi_routing) == (
            d.account_number,
            d.amount_cents,
            d.routing_number,
        )
        assert entry.individual_name == d.individual_name.upper().rstrip()
    assert sorted((b.header.effective_date, b.header.sec_code) for b in parsed.batches) == sorted(
        {(d.effective_date, d.sec_code) for d in debits}
    )
