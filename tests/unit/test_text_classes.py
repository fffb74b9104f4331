"""Which characters a text may hold, for each kind of text field: a single line (LINE: names,
housing areas, an organisation's name, a read's purpose) or a free text (FREE_TEXT: a concern,
an assessment, a summary). Hidden characters (bidirectional overrides and isolates, C1
controls, zero-width characters, the byte-order mark) are refused in both, naming the field;
line breaks and tabs only in a single line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import uuid4

import pytest

from application.accounts import Organisation, email_address
from application.queries import stated_purpose
from domain.case import Case
from domain.errors import InvalidValueError
from domain.forum import Forum
from domain.values import CPR, FREE_TEXT, LINE, Subject, line, non_personal_text, org_slug, text

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
C1 = [chr(c) for c in range(0x80, 0xA0)]
ZERO_WIDTH = [chr(c) for c in (*range(0x200B, 0x2010), 0x2060, 0xFEFF)]
SEPARATORS = ["\u2028", "\u2029"]
LINE_BREAKS = ["\n", "\r", "\t", "\r\n"]
C0 = ["\x00", "\x01", "\x1b", "\x7f"]
HIDDEN = BIDI + C1 + ZERO_WIDTH + C0
VISIBLE = [
    "Gellerup-Toveshøj",
    "Ali \u2039gnp\u203a.exe",
    "Ølgod Kommune",
    "مجلس",
    "Åbyhøj 2 (øst)",
    "a\u00a0b",
]


def _forum(**overrides: object) -> Forum:
    given: dict[str, object] = {
        "name": "Forum",
        "municipality": "Aarhus",
        "housing_areas": ["Hasle"],
        "chair_org": "kommune-a",
        "established_on": date(2026, 1, 5),
        **overrides,
    }
    return Forum.establish(**given)  # type: ignore[arg-type]


def _area_mapping(area: str) -> None:
    _forum(housing_areas=["Hasle", area if LINE.fullmatch(area) else "Gellerup"]).record_area_mapping(
        date(2026, 1, 6), area, "Klub", "Utryghed"
    )


def _refer(**overrides: object) -> Case:
    given: dict[str, object] = {
        "forum_id": uuid4(),
        "subject_id": uuid4(),
        "subject": Subject.parse("Noor"),
        "target_group": "cross_over",
        "referred_by": "kommune-a",
        "received_on": date(2026, 3, 2),
        "legal_basis": "consent",
        "concern": "Bekymring",
        **overrides,
    }
    return Case.refer(**given)  # type: ignore[arg-type]


# Every single-line field, each through the parsing its command does: (field named, parse).
SINGLE_LINE: dict[str, Callable[[str], object]] = {
    "line": lambda value: line(value, "line"),
    "name": lambda value: _forum(name=f"Forum {value} Hasle"),
    "municipality": lambda value: _forum(municipality=f"Aarhus{value}"),
    "housing_areas": lambda value: _forum(housing_areas=[f"Hasle{value}"]),
    "housing_area": lambda value: _area_mapping(f"Hasle{value}"),
    "subject.name": lambda value: Subject.parse(f"Ali{value}gnp.exe"),
    "purpose": lambda value: stated_purpose(f"forberedelse{value}af møde"),
    "org.name": lambda value: Organisation.register("kommune-a", f"Aarhus{value}Kommune", "municipality"),
    "email": lambda value: email_address(f"post{value}@aarhus.dk"),
}
# Every kind of multi-line field: a free text, a forum's free text (not about people).
FREE: dict[str, Callable[[str], object]] = {
    "text": lambda value: text(f"Første linje{value}anden linje", "text"),
    "forum_text": lambda value: non_personal_text(f"Klub{value}lektiecafé", "forum_text"),
    "concern": lambda value: _refer(concern=f"Bekymring{value}for drengen"),
}
FIELD = {"line": "line", "org.name": "name", "forum_text": "forum_text", "text": "text"}


def _refused(parse: Callable[[str], object], value: str) -> InvalidValueError:
    with pytest.raises(InvalidValueError) as refused:
        parse(value)
    return refused.value


@pytest.mark.parametrize("char", HIDDEN + SEPARATORS + LINE_BREAKS, ids=ascii)
@pytest.mark.parametrize("field", SINGLE_LINE)
def test_a_single_line_field_refuses_hidden_characters_and_line_breaks_naming_itself(
    field: str, char: str
) -> None:
    refused = _refused(SINGLE_LINE[field], char)
    assert refused.field == FIELD.get(field, field)
    assert not LINE.fullmatch(f"a{char}b")


@pytest.mark.parametrize("char", HIDDEN, ids=ascii)
@pytest.mark.parametrize("field", FREE)
def test_a_free_text_refuses_hidden_characters_naming_itself(field: str, char: str) -> None:
    refused = _refused(FREE[field], char)
    assert refused.field == FIELD.get(field, field)
    assert not FREE_TEXT.fullmatch(f"a{char}b")


@pytest.mark.parametrize("char", [*LINE_BREAKS, "\n\n"], ids=ascii)
@pytest.mark.parametrize("field", FREE)
def test_a_free_text_may_span_lines_and_hold_tabs(field: str, char: str) -> None:
    FREE[field](char)
    assert FREE_TEXT.fullmatch(f"a{char}b")


@pytest.mark.parametrize("value", VISIBLE)
@pytest.mark.parametrize("field", [*SINGLE_LINE, *FREE])
def test_visible_text_in_any_script_is_taken(field: str, value: str) -> None:
    parse = SINGLE_LINE.get(field) or FREE[field]
    if field == "email":
        value = "".join(c for c in value if not c.isspace() and c not in "()")
    parse(value)


def test_a_single_line_is_trimmed_like_a_free_text() -> None:
    assert line("  Hasle ", "line") == "Hasle"
    with pytest.raises(InvalidValueError, match="must not be empty"):
        line(" \u00a0 ", "line")
    assert stated_purpose(None) is None


@pytest.mark.parametrize(
    "cpr",
    [
        "070709-7777".translate({ord(d): ord(d) + offset for d in "0123456789"})
        for offset in (0xFF10 - 0x30, 0x0660 - 0x30, 0x0966 - 0x30)  # fullwidth, Arabic-Indic, Devanagari
    ]
    + ["070709-7777\n", "0707097777\n"],
    ids=ascii,
)
def test_a_cpr_number_is_ascii_digits_only(cpr: str) -> None:
    assert not CPR.fullmatch(cpr)
    with pytest.raises(InvalidValueError) as refused:
        Subject.parse("Noor", cpr=cpr)
    assert refused.value.field == "subject.cpr"
    assert Subject.parse("Noor", cpr="070709-7777").cpr == "070709-7777"


@pytest.mark.parametrize("slug", ["kommune-a\n", "kommune-٣"], ids=ascii)
def test_a_slug_is_one_line_of_ascii(slug: str) -> None:
    with pytest.raises(InvalidValueError):
        org_slug(slug, "org")


@pytest.mark.parametrize(
    "offset", [0, 0xFF10 - 0x30, 0x0660 - 0x30], ids=["ascii", "fullwidth", "arabic-indic"]
)
def test_a_cpr_number_in_a_forum_text_is_found_in_any_script_s_digits(offset: int) -> None:
    """Accepting a CPR number takes ASCII digits only; finding one in a text that must not
    identify people reads every script's, for such a number identifies the person all the same."""
    written = "070709-7777".translate({ord(d): ord(d) + offset for d in "0123456789"})
    with pytest.raises(InvalidValueError, match="CPR"):
        non_personal_text(f"Drengen {written} kommer i klubben", "resources")
