"""Vocabularies and value objects: parsing validates, and every refusal names its field."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.errors import InvalidValueError
from domain.values import (
    EARLIEST_DATE,
    LATEST_DATE,
    ActionKind,
    ClosureReason,
    Decision,
    LegalBasis,
    OrgKind,
    Role,
    Subject,
    TargetGroup,
    Vocabulary,
    business_date,
    day_in_denmark,
    days_after,
)

PUBLIC_VOCABULARIES: dict[type[Vocabulary], tuple[str, list[str]]] = {
    OrgKind: ("org_kind", ["municipality", "housing_social", "police", "civil_society", "other"]),
    Role: ("role", ["coordinator", "member", "evaluator", "dpo", "admin"]),
    TargetGroup: ("target_group", ["cross_over", "younger_sibling"]),
    LegalBasis: (
        "legal_basis",
        ["retsplejeloven_115", "databeskyttelsesloven_8", "consent", "duty_to_notify"],
    ),
    Decision: ("decision", ["accept", "redirect", "no_further_action"]),
    ActionKind: (
        "action_kind",
        [
            "mentor",
            "family_dialogue",
            "leisure_or_job",
            "exit_programme",
            "concern_conversation",
            "statutory_measure",
            "other",
        ],
    ),
    ClosureReason: (
        "closure_reason",
        ["resolved", "unfounded", "transferred", "police_matter", "moved_away", "other"],
    ),
}


@pytest.mark.parametrize("vocabulary", PUBLIC_VOCABULARIES)
def test_a_vocabulary_has_exactly_the_public_contracts_words(vocabulary: type[Vocabulary]) -> None:
    assert vocabulary.words() == PUBLIC_VOCABULARIES[vocabulary][1]


@pytest.mark.parametrize("vocabulary", PUBLIC_VOCABULARIES)
def test_a_vocabulary_parses_each_of_its_words_and_its_members(vocabulary: type[Vocabulary]) -> None:
    for member in vocabulary:
        assert vocabulary.parse(member.value) is member
        assert vocabulary.parse(member) is member


@pytest.mark.parametrize("vocabulary", PUBLIC_VOCABULARIES)
@pytest.mark.parametrize("word", ["", "Accept", "POLICE", None, 1])
def test_a_vocabulary_refuses_other_values_naming_its_field(
    vocabulary: type[Vocabulary], word: object
) -> None:
    with pytest.raises(InvalidValueError) as caught:
        vocabulary.parse(word)

    assert caught.value.field == PUBLIC_VOCABULARIES[vocabulary][0]
    assert all(w in caught.value.message for w in vocabulary.words())


def test_a_vocabulary_error_names_the_field_it_was_given() -> None:
    with pytest.raises(InvalidValueError) as caught:
        ActionKind.parse("boot_camp", "kind")

    assert caught.value.field == "kind"
    assert str(caught.value).startswith("kind: 'boot_camp' is not one of: mentor,")


def test_a_subject_is_parsed_from_name_cpr_and_birth_year() -> None:
    assert Subject.parse("  Ali Testesen ", "010203-1234", 2003) == Subject(
        "Ali Testesen", "010203-1234", 2003
    )
    assert Subject.parse("Sara") == Subject("Sara")


@pytest.mark.parametrize(
    ("field", "arguments"),
    [
        ("subject.name", ("",)),
        ("subject.name", (None,)),
        ("subject.name", ("x" * 201,)),
        ("subject.cpr", ("Ali", "0102031234x")),
        ("subject.cpr", ("Ali", 102031234)),
        ("subject.birth_year", ("Ali", None, 1899)),
        ("subject.birth_year", ("Ali", None, "2003")),
        ("subject.birth_year", ("Ali", None, True)),
    ],
)
def test_a_subject_refusal_names_its_field(field: str, arguments: tuple[object, ...]) -> None:
    with pytest.raises(InvalidValueError) as caught:
        Subject.parse(*arguments)

    assert caught.value.field == field


def test_business_dates_lie_in_the_documented_range() -> None:
    assert business_date(EARLIEST_DATE, "on") == date(1900, 1, 1)
    assert business_date(LATEST_DATE, "on") == date(2100, 12, 31)
    for outside in (date(1899, 12, 31), date(2101, 1, 1), date(9999, 12, 20)):
        with pytest.raises(InvalidValueError) as refused:
            business_date(outside, "due_on")
        assert refused.value.field == "due_on"


def test_date_arithmetic_is_total_at_the_calendars_ends() -> None:
    assert days_after(date(2026, 1, 31), 1) == date(2026, 2, 1)
    assert days_after(date(2026, 1, 1), -1) == date(2025, 12, 31)
    assert days_after(date(9999, 12, 20), 30) == date.max
    assert days_after(date(1, 1, 2), -30) == date.min
    assert days_after(date(2026, 1, 1), 10**10) == date.max


def test_the_business_date_of_an_instant_is_its_day_in_denmark() -> None:
    utc = UTC
    assert day_in_denmark(datetime(2026, 12, 2, 22, 59, tzinfo=utc)) == date(2026, 12, 2)
    assert day_in_denmark(datetime(2026, 12, 2, 23, 0, tzinfo=utc)) == date(2026, 12, 3)  # CET
    assert day_in_denmark(datetime(2026, 6, 30, 21, 59, tzinfo=utc)) == date(2026, 6, 30)
    assert day_in_denmark(datetime(2026, 6, 30, 22, 0, tzinfo=utc)) == date(2026, 7, 1)  # CEST
