Feature: Discussing cases at forum meetings
  Holding a meeting records the meeting on the forum and the discussion on every case that
  was discussed, as one whole: if any one of those cases cannot be discussed, nothing of the
  meeting is recorded — neither on the forum nor on any case.

  Background:
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    And another forum "Bispehaven" was established on 2026-01-05 for Bispehaven, chaired by aarhus-kommune with the members bispehaven-boligsocial and oestjyllands-politi
    And a cross_over concern about "Ali" was referred by aarhus-boligsocial on 2026-02-02 under retsplejeloven_115
    And the case was assessed as accept on 2026-02-09
    And a second younger_sibling concern about "Amina" was referred by aarhus-kommune on 2026-02-03 under databeskyttelsesloven_8
    And the second case was assessed as accept on 2026-02-10
    And a meeting of the forum is scheduled for 2026-03-04

  Scenario: Holding a meeting records the discussion on every case discussed
    When the forum holds the meeting on 2026-03-04 with aarhus-kommune, aarhus-boligsocial, oestjyllands-politi and foreningen-broen attending, discussing the case and the second case
    Then the meeting was held on 2026-03-04 with aarhus-kommune, aarhus-boligsocial, oestjyllands-politi and foreningen-broen attending
    And the meeting records the case and the second case as discussed
    And the case was discussed at the meeting on 2026-03-04
    And the second case was discussed at the meeting on 2026-03-04
    And the case's history reads Referred, Assessed, Discussed
    And the second case's history reads Referred, Assessed, Discussed

  @refusal
  Scenario: A closed case cannot be discussed, and then nothing of the meeting is recorded
    Given the second case was closed on 2026-02-20 as unfounded
    When the forum tries to hold the meeting on 2026-03-04 with aarhus-kommune and oestjyllands-politi attending, discussing the case and the second case
    Then it is refused with CaseClosedError
    And nothing was recorded on the forum nor on any of the cases
    And the meeting is still scheduled
    And the case was never discussed
    And the second case was never discussed

  @refusal
  Scenario: Another forum's case cannot be discussed, and then nothing of the meeting is recorded
    Given a cross_over concern about "Omar" was referred to the other forum by bispehaven-boligsocial on 2026-02-04 under retsplejeloven_115
    When the forum tries to hold the meeting on 2026-03-04 with aarhus-kommune and oestjyllands-politi attending, discussing the case and the other forum's case
    Then it is refused with WrongForumError
    And nothing was recorded on the forum nor on any of the cases
    And the meeting is still scheduled
    And the case was never discussed
    And the other forum's case was never discussed

  @refusal
  Scenario: A case cannot be discussed at a meeting of another forum
    Given a meeting of the other forum is scheduled for 2026-03-05
    When the other forum tries to hold its meeting on 2026-03-05 with aarhus-kommune and oestjyllands-politi attending, discussing the case
    Then it is refused with WrongForumError
    And nothing was recorded on the forum nor on any of the cases
    And the other forum's meeting is still scheduled
    And the case was never discussed

  @refusal
  Scenario: An action cannot be agreed at a meeting of another forum
    Given a meeting of the other forum is scheduled for 2026-03-05
    And the other forum held its meeting on 2026-03-05 with aarhus-kommune attending
    When the coordinator tries to agree at the other forum's meeting a mentor action "Mentorforløb" owned by foreningen-broen, due 2026-04-15
    Then it is refused with MeetingNotFoundError
    And nothing was recorded
    And the case has 0 open actions
