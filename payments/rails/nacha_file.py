"""The NACHA ACH file the utility's bank (the ODFI) takes: debits out, returns back.

Written here from the record layouts (94-character records, blocking factor 10) rather than
taken from the small PyPI libraries, which are not kept up. Pure: no database, no clock, no
network, so a file is a function of its inputs and the tests can read every column.

::

    NachaFormatError    a field that cannot be written, or a file that does not add up;
                        the message names the record line and the field, never an account number
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from itertools import groupby
from typing import Final, Literal

from stdnum.us import rtn

RECORD_LENGTH: Final = 94
BLOCKING_FACTOR: Final = 10
FILL: Final = "9" * RECORD_LENGTH
DEBITS_ONLY: Final = "225"
MAX_AMOUNT_CENTS: Final = 99_999_999_99  # the entry's 10-digit amount field
SEC_CODES: Final = frozenset({"TEL", "WEB", "PPD"})
DEBIT_CODES: Final = {"checking": "27", "savings": "37"}
RETURN_CODES: Final = {"checking": "26", "savings": "36"}  # automated return of a debit
_DEBIT_FAMILY: Final = frozenset({"26", "27", "28", "29", "36", "37", "38", "39"})
_CREDIT_FAMILY: Final = frozenset({"21", "22", "23", "24", "31", "32", "33", "34"})
_TEN_DIGITS: Final = 10**10

AccountType = Literal["checking", "savings"]


class NachaFormatError(ValueError):
    """A field or a record that breaks the layout; says where, never what an account number is."""


class ReturnCode(StrEnum):
    """The reason codes a receiving bank gives when it sends a debit back."""

    R01 = "R01"
    R02 = "R02"
    R03 = "R03"
    R04 = "R04"
    R05 = "R05"
    R07 = "R07"
    R08 = "R08"
    R10 = "R10"
    R16 = "R16"
    R20 = "R20"
    R29 = "R29"

    @property
    def description(self) -> str:
        """In words, for the operator's reports and the customer's notice."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS: Final = {
    ReturnCode.R01: "insufficient funds",
    ReturnCode.R02: "account closed",
    ReturnCode.R03: "no account, or unable to locate the account",
    ReturnCode.R04: "invalid account number",
    ReturnCode.R05: "unauthorized debit to a consumer account",
    ReturnCode.R07: "authorization revoked by the customer",
    ReturnCode.R08: "payment stopped",
    ReturnCode.R10: "customer advises the debit was not authorized",
    ReturnCode.R16: "account frozen",
    ReturnCode.R20: "non-transaction account",
    ReturnCode.R29: "corporate customer advises the debit was not authorized",
}


def _masked_repr(record: Debit | Entry) -> str:
    """A dataclass repr that shows an account number's last four only, as logs may print it."""
    parts = []
    for field in fields(record):
        value = getattr(record, field.name)
        if field.name == "account_number":
            parts.append(f"account_ending={str(value)[-4:]!r}")
        else:
            parts.append(f"{field.name}={value!r}")
    return f"{type(record).__name__}({', '.join(parts)})"


def _text(name: str, value: str, width: int, *, exact: bool = False) -> None:
    """Refuse what the bank would reject or we would have to cut: too long, or not plain ASCII."""
    if len(value) > width or (exact and len(value) != width):
        size = f"exactly {width}" if exact else f"at most {width}"
        raise NachaFormatError(f"{name}: must be {size} characters")
    if not all(" " <= ch <= "~" for ch in value):
        raise NachaFormatError(f"{name}: only printable ASCII characters are allowed")


def _routing(name: str, value: str) -> None:
    if not (len(value) == 9 and value.isdigit() and rtn.is_valid(value)):
        raise NachaFormatError(f"{name}: not a valid 9-digit ABA routing number")


@dataclass(frozen=True)
class Originator:
    """The utility and its bank: whom the file is from and to, what statements show."""

    immediate_destination: str
    immediate_destination_name: str
    immediate_origin: str
    immediate_origin_name: str
    company_name: str
    company_id: str
    company_entry_description: str
    odfi_routing: str

    def __post_init__(self) -> None:
        _routing("immediate_destination", self.immediate_destination)
        _text("immediate_destination_name", self.immediate_destination_name, 23)
        _text("immediate_origin", self.immediate_origin, 10, exact=True)
        _text("immediate_origin_name", self.immediate_origin_name, 23)
        _text("company_name", self.company_name, 16)
        _text("company_id", self.company_id, 10, exact=True)
        _text("company_entry_description", self.company_entry_description, 10)
        if not (len(self.odfi_routing) == 8 and self.odfi_routing.isdigit()):
            raise NachaFormatError("odfi_routing: must be the 8 digits identifying the ODFI")


@dataclass(frozen=True, repr=False)
class Debit:
    """One bank debit the customer authorized; ``reference`` is our payment's, to match returns.

    Invalid fields are refused when the debit is made, so a file can always be written.
    """

    sec_code: str
    account_type: AccountType
    routing_number: str
    account_number: str
    amount_cents: int
    individual_id: str
    individual_name: str
    effective_date: dt.date
    reference: str
    recurring: bool = False
    """TEL and WEB entries carry a payment type code: R(ecurring) or S(ingle)."""

    def __post_init__(self) -> None:
        where = f"debit {self.reference}"
        if self.sec_code not in SEC_CODES:
            raise NachaFormatError(f"{where}: sec_code must be one of {sorted(SEC_CODES)}")
        if self.account_type not in DEBIT_CODES:
            raise NachaFormatError(f"{where}: account_type must be checking or savings")
        _routing(f"{where}: routing_number", self.routing_number)
        if not (1 <= len(self.account_number) <= 17 and self.account_number.isdigit()):
            raise NachaFormatError(f"{where}: account_number must be 1 to 17 digits")
        if not 0 < self.amount_cents <= MAX_AMOUNT_CENTS:
            raise NachaFormatError(f"{where}: amount_cents must be 1 to {MAX_AMOUNT_CENTS}")
        _text(f"{where}: individual_id", self.individual_id, 15)
        _text(f"{where}: individual_name", self.individual_name, 22)

    def __repr__(self) -> str:
        return _masked_repr(self)


@dataclass(frozen=True)
class DebitReturn:
    """A debit the receiving bank sends back, as a bank's return file states it."""

    debit: Debit
    trace_number: str
    code: ReturnCode


@dataclass(frozen=True)
class WrittenFile:
    """The file's text, and the trace number each debit got (by reference), to match returns."""

    text: str
    trace_numbers: dict[str, str]


@dataclass(frozen=True)
class FileHeader:
    immediate_destination: str
    immediate_origin: str
    created: dt.datetime
    file_id_modifier: str
    immediate_destination_name: str
    immediate_origin_name: str


@dataclass(frozen=True)
class BatchHeader:
    service_class_code: str
    company_name: str
    company_id: str
    sec_code: str
    company_entry_description: str
    effective_date: dt.date
    odfi_routing: str
    batch_number: int


@dataclass(frozen=True)
class ReturnAddenda:
    """The type-99 addenda of a returned entry: why, and which original entry."""

    return_code: ReturnCode
    original_trace_number: str
    original_rdfi: str


@dataclass(frozen=True, repr=False)
class Entry:
    transaction_code: str
    rdfi_routing: str
    account_number: str
    amount_cents: int
    individual_id: str
    individual_name: str
    discretionary_data: str
    trace_number: str
    addenda: tuple[ReturnAddenda, ...]

    def __repr__(self) -> str:
        return _masked_repr(self)


@dataclass(frozen=True)
class Controls:
    """What a batch or file control record claims; the reader checks it against the entries."""

    entry_addenda_count: int
    entry_hash: int
    total_debit_cents: int
    total_credit_cents: int


@dataclass(frozen=True)
class Batch:
    header: BatchHeader
    entries: tuple[Entry, ...]
    control: Controls


@dataclass(frozen=True)
class ParsedFile:
    header: FileHeader
    batches: tuple[Batch, ...]
    control: Controls
    batch_count: int
    block_count: int


@dataclass(frozen=True)
class Returned:
    """A returned debit, with what is needed to find our payment and tell the customer."""

    original_trace_number: str
    return_code: ReturnCode
    amount_cents: int
    individual_id: str


def _tally(transaction_code: str, rdfi_routing: str, amount_cents: int, addenda: int) -> Controls:
    """What one entry adds to its batch's control: the same sums when writing and when checking."""
    debit = transaction_code in _DEBIT_FAMILY
    return Controls(
        entry_addenda_count=1 + addenda,
        entry_hash=int(rdfi_routing[:8]),
        total_debit_cents=amount_cents if debit else 0,
        total_credit_cents=0 if debit else amount_cents,
    )


def _sum(items: Iterable[Controls]) -> Controls:
    count = entry_hash = debits = credits = 0
    for item in items:
        count += item.entry_addenda_count
        entry_hash += item.entry_hash
        debits += item.total_debit_cents
        credits += item.total_credit_cents
    return Controls(count, entry_hash % _TEN_DIGITS, debits, credits)


# -- writing ------------------------------------------------------------------------------------


def _alpha(value: str, width: int) -> str:
    return value.upper().ljust(width)[:width]


def _num(value: int, width: int) -> str:
    return str(value).rjust(width, "0")[-width:]


@dataclass(frozen=True)
class _Line:
    """An entry about to be written, the same for an originated debit and a return."""

    debit: Debit
    transaction_code: str
    rdfi_routing: str
    addenda: ReturnAddenda | None


def _file_header(originator: Originator, created: dt.datetime, file_id_modifier: str) -> str:
    if not (
        len(file_id_modifier) == 1 and file_id_modifier.isalnum() and file_id_modifier.isascii()
    ):
        raise NachaFormatError("file_id_modifier: must be one letter A-Z or digit 0-9")
    return "".join(
        (
            "101",
            " " + originator.immediate_destination,
            _alpha(originator.immediate_origin, 10),
            created.strftime("%y%m%d%H%M"),
            file_id_modifier.upper(),
            f"{RECORD_LENGTH:03d}",
            f"{BLOCKING_FACTOR:02d}",
            "1",
            _alpha(originator.immediate_destination_name, 23),
            _alpha(originator.immediate_origin_name, 23),
            " " * 8,
        )
    )


def _entry(line: _Line, trace: str) -> str:
    debit = line.debit
    payment_type = ("R" if debit.recurring else "S") if debit.sec_code in ("TEL", "WEB") else ""
    return "".join(
        (
            "6",
            line.transaction_code,
            line.rdfi_routing,
            _alpha(debit.account_number, 17),
            _num(debit.amount_cents, 10),
            _alpha(debit.individual_id, 15),
            _alpha(debit.individual_name, 22),
            _alpha(payment_type, 2),
            "1" if line.addenda else "0",
            trace,
        )
    )


def _return_addenda(addenda: ReturnAddenda, trace: str) -> str:
    return "".join(
        (
            "799",
            addenda.return_code.value,
            addenda.original_trace_number,
            " " * 6,  # date of death: only for R14/R15
            addenda.original_rdfi,
            " " * 44,
            trace,
        )
    )


def _write(
    originator: Originator,
    lines: Iterable[_Line],
    *,
    created: dt.datetime,
    file_id_modifier: str,
) -> WrittenFile:
    """Batches per (SEC code, effective date), as the bank settles each batch on one date."""

    def batch_key(line: _Line) -> tuple[dt.date, str]:
        return line.debit.effective_date, line.debit.sec_code

    records = [_file_header(originator, created, file_id_modifier)]
    traces: dict[str, str] = {}
    controls: list[Controls] = []
    batches = groupby(sorted(lines, key=batch_key), key=batch_key)
    batch_number = 0
    for batch_number, ((effective, sec_code), batch) in enumerate(batches, start=1):
        records.append(
            "".join(
                (
                    "5",
                    DEBITS_ONLY,
                    _alpha(originator.company_name, 16),
                    " " * 20,
                    _alpha(originator.company_id, 10),
                    sec_code,
                    _alpha(originator.company_entry_description, 10),
                    " " * 6,
                    effective.strftime("%y%m%d"),
                    " " * 3,  # settlement date: the ACH operator fills it in
                    "1",
                    originator.odfi_routing,
                    _num(batch_number, 7),
                )
            )
        )
        tallies = []
        for line in batch:
            trace = originator.odfi_routing + _num(len(traces) + 1, 7)
            traces[line.debit.reference] = trace
            records.append(_entry(line, trace))
            if line.addenda:
                records.append(_return_addenda(line.addenda, trace))
            tallies.append(
                _tally(
                    line.transaction_code,
                    line.rdfi_routing,
                    line.debit.amount_cents,
                    1 if line.addenda else 0,
                )
            )
        control = _sum(tallies)
        controls.append(control)
        records.append(
            "".join(
                (
                    "8",
                    DEBITS_ONLY,
                    _num(control.entry_addenda_count, 6),
                    _num(control.entry_hash, 10),
                    _num(control.total_debit_cents, 12),
                    _num(control.total_credit_cents, 12),
                    _alpha(originator.company_id, 10),
                    " " * 19,  # message authentication code
                    " " * 6,
                    originator.odfi_routing,
                    _num(batch_number, 7),
                )
            )
        )
    blocks = -(-(len(records) + 1) // BLOCKING_FACTOR)
    total = _sum(controls)
    records.append(
        "".join(
            (
                "9",
                _num(batch_number, 6),
                _num(blocks, 6),
                _num(total.entry_addenda_count, 8),
                _num(total.entry_hash, 10),
                _num(total.total_debit_cents, 12),
                _num(total.total_credit_cents, 12),
                " " * 39,
            )
        )
    )
    records += [FILL] * (blocks * BLOCKING_FACTOR - len(records))
    return WrittenFile(text="\n".join(records) + "\n", trace_numbers=traces)


def write_file(
    originator: Originator,
    debits: Sequence[Debit],
    *,
    created: dt.datetime,
    file_id_modifier: str = "A",
) -> WrittenFile:
    """The file of ``debits`` for the utility's bank; ``created`` is passed in to keep this pure.

    Trace numbers are the ODFI's 8 digits and a sequence through the file: the bank's returns
    quote them, so keep ``trace_numbers`` with the payments.
    """
    references = [debit.reference for debit in debits]
    if len(set(references)) != len(references):
        raise NachaFormatError("debits: each reference must appear once")
    lines = (
        _Line(debit, DEBIT_CODES[debit.account_type], debit.routing_number, None)
        for debit in debits
    )
    return _write(originator, lines, created=created, file_id_modifier=file_id_modifier)


def write_returns(
    originator: Originator,
    returns: Sequence[DebitReturn],
    *,
    created: dt.datetime,
    file_id_modifier: str = "A",
) -> WrittenFile:
    """A bank's return file for ``returns``, as the sandbox and the tests need one.

    Each returned entry is addressed to the ODFI (``immediate_destination``) with transaction code
    26 or 36 and a type-99 addenda quoting the reason, the original trace and the original RDFI.
    """
    for item in returns:
        if not (len(item.trace_number) == 15 and item.trace_number.isdigit()):
            raise NachaFormatError(f"return of {item.debit.reference}: trace_number: 15 digits")
    lines = (
        _Line(
            item.debit,
            RETURN_CODES[item.debit.account_type],
            originator.immediate_destination,
            ReturnAddenda(item.code, item.trace_number, item.debit.routing_number[:8]),
        )
        for item in returns
    )
    return _write(originator, lines, created=created, file_id_modifier=file_id_modifier)


# -- reading ------------------------------------------------------------------------------------

_NAMES: Final = {
    "1": "file header",
    "5": "batch header",
    "6": "entry detail",
    "7": "addenda",
    "8": "batch control",
    "9": "file control",
}


class _Record:
    """One line of the file, read by 1-based inclusive column positions as the layouts give them."""

    def __init__(self, number: int, text: str) -> None:
        self.number = number
        self.text = text

    def where(self, field: str) -> str:
        return f"line {self.number} ({_NAMES.get(self.text[:1], 'record')}), {field}"

    def error(self, field: str, problem: str) -> NachaFormatError:
        return NachaFormatError(f"{self.where(field)}: {problem}")

    def alpha(self, start: int, end: int) -> str:
        return self.text[start - 1 : end].rstrip()

    def num(self, start: int, end: int, field: str) -> int:
        value = self.text[start - 1 : end]
        if not value.isdigit():
            raise self.error(field, f"positions {start}-{end} must be digits")
        return int(value)

    def digits(self, start: int, end: int, field: str) -> str:
        self.num(start, end, field)
        return self.text[start - 1 : end]

    def date(self, start: int, end: int, field: str, fmt: str = "%y%m%d") -> dt.datetime:
        try:
            return dt.datetime.strptime(self.text[start - 1 : end], fmt)
        except ValueError:
            raise self.error(field, f"positions {start}-{end} are not a date") from None

    def expect(self, start: int, end: int, field: str, wanted: str) -> None:
        if self.text[start - 1 : end] != wanted:
            raise self.error(field, f"positions {start}-{end} must be {wanted!r}")


def _records(text: str) -> list[_Record]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    records = [_Record(number, line.removesuffix("\r")) for number, line in enumerate(lines, 1)]
    for record in records:
        if len(record.text) != RECORD_LENGTH:
            raise record.error("length", f"{len(record.text)} characters, not {RECORD_LENGTH}")
    if not records:
        raise NachaFormatError("file: empty")
    if len(records) % BLOCKING_FACTOR:
        raise NachaFormatError(
            f"file: {len(records)} records, not a multiple of the blocking factor {BLOCKING_FACTOR}"
        )
    return records


def _check(record: _Record, field: str, claimed: int, counted: int) -> None:
    if claimed != counted:
        raise record.error(field, f"says {claimed}, the entries add up to {counted}")


def _controls(record: _Record, count: tuple[int, int], totals: tuple[int, int, int]) -> Controls:
    """The four totals a control record states (positions differ between batch and file)."""
    return Controls(
        entry_addenda_count=record.num(*count, "entry/addenda count"),
        entry_hash=record.num(totals[0], totals[0] + 9, "entry hash"),
        total_debit_cents=record.num(totals[1], totals[1] + 11, "total debit amount"),
        total_credit_cents=record.num(totals[2], totals[2] + 11, "total credit amount"),
    )


def _verify(record: _Record, claimed: Controls, counted: Controls) -> None:
    _check(record, "entry/addenda count", claimed.entry_addenda_count, counted.entry_addenda_count)
    _check(record, "entry hash", claimed.entry_hash, counted.entry_hash)
    _check(record, "total debit amount", claimed.total_debit_cents, counted.total_debit_cents)
    _check(record, "total credit amount", claimed.total_credit_cents, counted.total_credit_cents)


def _file_header_of(record: _Record) -> FileHeader:
    record.expect(1, 3, "record type and priority code", "101")
    record.expect(4, 4, "immediate destination", " ")
    record.expect(35, 37, "record size", f"{RECORD_LENGTH:03d}")
    record.expect(38, 39, "blocking factor", f"{BLOCKING_FACTOR:02d}")
    record.expect(40, 40, "format code", "1")
    modifier = record.text[33]
    if not (modifier.isascii() and modifier.isalnum() and modifier == modifier.upper()):
        raise record.error("file ID modifier", "position 34 must be A-Z or 0-9")
    return FileHeader(
        immediate_destination=record.digits(5, 13, "immediate destination"),
        immediate_origin=record.text[13:23],
        created=record.date(24, 33, "file creation date and time", "%y%m%d%H%M"),
        file_id_modifier=modifier,
        immediate_destination_name=record.alpha(41, 63),
        immediate_origin_name=record.alpha(64, 86),
    )


def _batch_header_of(record: _Record) -> BatchHeader:
    record.expect(79, 79, "originator status code", "1")
    return BatchHeader(
        service_class_code=record.digits(2, 4, "service class code"),
        company_name=record.alpha(5, 20),
        company_id=record.text[40:50],
        sec_code=record.alpha(51, 53),
        company_entry_description=record.alpha(54, 63),
        effective_date=record.date(70, 75, "effective entry date").date(),
        odfi_routing=record.digits(80, 87, "originating DFI identification"),
        batch_number=record.num(88, 94, "batch number"),
    )


def _entry_of(record: _Record, addenda: list[_Record]) -> Entry:
    code = record.digits(2, 3, "transaction code")
    if code not in _DEBIT_FAMILY | _CREDIT_FAMILY:
        raise record.error("transaction code", "positions 2-3 are not a known transaction code")
    routing = record.digits(4, 12, "receiving DFI identification and check digit")
    if not rtn.is_valid(routing):
        raise record.error("check digit", "position 12 does not match the routing number")
    indicator = record.text[78]
    if indicator not in "01" or (indicator == "1") != bool(addenda):
        raise record.error("addenda record indicator", "position 79 disagrees with the addenda")
    return Entry(
        transaction_code=code,
        rdfi_routing=routing,
        account_number=record.alpha(13, 29),
        amount_cents=record.num(30, 39, "amount"),
        individual_id=record.alpha(40, 54),
        individual_name=record.alpha(55, 76),
        discretionary_data=record.alpha(77, 78),
        trace_number=record.digits(80, 94, "trace number"),
        addenda=tuple(_return_addenda_of(item) for item in addenda),
    )


def _return_addenda_of(record: _Record) -> ReturnAddenda:
    record.expect(2, 3, "addenda type code", "99")
    try:
        code = ReturnCode(record.text[3:6])
    except ValueError:
        raise record.error("return reason code", "positions 4-6 are not a known code") from None
    return ReturnAddenda(
        return_code=code,
        original_trace_number=record.digits(7, 21, "original entry trace number"),
        original_rdfi=record.digits(28, 35, "original receiving DFI identification"),
    )


def _batch_of(header: _Record, body: Iterator[_Record]) -> tuple[Batch, _Record]:
    batch_header = _batch_header_of(header)
    entries: list[Entry] = []
    tallies = []
    record = next(body, None)
    while record is not None and record.text[0] == "6":
        entry = record
        addenda: list[_Record] = []
        record = next(body, None)
        while record is not None and record.text[0] == "7":
            addenda.append(record)
            record = next(body, None)
        parsed = _entry_of(entry, addenda)
        if parsed.trace_number[:8] != batch_header.odfi_routing:
            raise entry.error("trace number", "positions 80-87 differ from the batch's ODFI")
        if entries and parsed.trace_number <= entries[-1].trace_number:
            raise entry.error("trace number", "not in ascending order within the batch")
        entries.append(parsed)
        tallies.append(
            _tally(parsed.transaction_code, parsed.rdfi_routing, parsed.amount_cents, len(addenda))
        )
    if record is None or record.text[0] != "8":
        where = record.where("record type code") if record else "file"
        raise NachaFormatError(f"{where}: expected an entry, an addenda or the batch control")
    control = _controls(record, (5, 10), (11, 21, 33))
    _verify(record, control, _sum(tallies))
    if record.text[1:4] != batch_header.service_class_code:
        raise record.error("service class code", "differs from the batch header's")
    if record.text[44:54] != batch_header.company_id:
        raise record.error("company identification", "differs from the batch header's")
    if record.num(88, 94, "batch number") != batch_header.batch_number:
        raise record.error("batch number", "differs from the batch header's")
    return Batch(batch_header, tuple(entries), control), record


def read_file(text: str) -> ParsedFile:
    """Parse a file and check that it adds up, as the bank would before taking it."""
    records = _records(text)
    body = iter(records)
    header = _file_header_of(next(body))
    batches: list[Batch] = []
    record = next(body, None)
    while record is not None and record.text[0] == "5":
        batch, batch_control = _batch_of(record, body)
        if batch.header.batch_number != len(batches) + 1:
            raise batch_control.error("batch number", f"should be {len(batches) + 1}, in order")
        batches.append(batch)
        record = next(body, None)
    if record is None or record.text[0] != "9" or record.text == FILL:
        where = record.where("record type code") if record else "file"
        raise NachaFormatError(f"{where}: expected a batch header or the file control")
    control = _controls(record, (14, 21), (22, 32, 44))
    _verify(record, control, _sum(batch.control for batch in batches))
    _check(record, "batch count", record.num(2, 7, "batch count"), len(batches))
    blocks = record.num(8, 13, "block count")
    _check(record, "block count", blocks, len(records) // BLOCKING_FACTOR)
    for rest in body:
        if rest.text != FILL:
            raise rest.error("record type code", "after the file control only 9-filled records")
    return ParsedFile(header, tuple(batches), control, len(batches), blocks)


def read_returns(text: str) -> list[Returned]:
    """The returned debits in a bank's return file, each with its type-99 addenda's reason."""
    returned = []
    for batch in read_file(text).batches:
        for entry in batch.entries:
            if len(entry.addenda) != 1:
                raise NachaFormatError(
                    f"entry {entry.trace_number}: a returned entry has one type-99 addenda"
                )
            returned.append(
                Returned(
                    original_trace_number=entry.addenda[0].original_trace_number,
                    return_code=entry.addenda[0].return_code,
                    amount_cents=entry.amount_cents,
                    individual_id=entry.individual_id,
                )
            )
    return returned
