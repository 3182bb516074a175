"""Reading the assistance programs file the billing team keeps (payments/assistance.py)."""

import pytest

from payments.assistance import Program, ProgramsError, load, parse

GOOD = (
    "name,phone,url\n"
    "LIHEAP energy assistance,1-800-555-0134,https://example.org/liheap\n"
    "\n"
    '"Neighbors, Inc. fund",(212) 555-0199,\n'
)


def test_programs_are_read_with_phones_as_10_digits():
    assert parse(GOOD, "programs.csv") == (
        Program("LIHEAP energy assistance", "8005550134", "https://example.org/liheap"),
        Program("Neighbors, Inc. fund", "2125550199", ""),
    )


def test_header_is_case_and_space_insensitive_and_url_may_be_left_out():
    assert parse(" Name , PHONE,url\nFund,2125550199\n", "f") == (Program("Fund", "2125550199"),)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("title,phone,url\n", "programs.csv:1: the header must be: name,phone,url"),
        ("", "programs.csv:1: the header must be"),
        ("name,phone,url\n,2125550199,\n", "programs.csv:2: a program needs a name"),
        ("name,phone,url\nA,555-0199,\n", "programs.csv:2: '555-0199' is not a US phone number"),
        ("name,phone,url\nA,22125550199,\n", "is not a US phone number"),
        ("name,phone,url\nA,2125550199,u\nB,2125550199,u,extra\n", "programs.csv:3: more than"),
    ],
)
def test_a_bad_file_names_its_line_and_problem(text, problem):
    with pytest.raises(ProgramsError, match=problem.replace("(", r"\(")):
        parse(text, "programs.csv")


def test_load_reads_a_file_with_a_byte_order_mark_and_nothing_when_unset(tmp_path):
    path = tmp_path / "programs.csv"
    path.write_bytes(GOOD.encode("utf-8-sig"))
    assert len(load(str(path))) == 2
    assert load("") == ()
    with pytest.raises(ProgramsError, match="cannot be read"):
        load(str(tmp_path / "missing.csv"))
