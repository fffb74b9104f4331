Feature: Scheduling, holding and cancelling forum meetings
  The forum meets on a cadence, typically every two to six weeks. A meeting is planned,
  then either held once — with the member organisations that attended and the cases that
  were discussed — or cancelled.

  Background:
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    And a cross_over concern about "Ali" was referred by aarhus-boligsocial on 2026-02-02 under retsplejeloven_115
    And the case was assessed as accept on 2026-02-09
    And a meeting of the forum is scheduled for 2026-03-04

  Scenario: The coordinator schedules the next meeting
    When the coordinator schedules a meeting of the forum for 2026-04-01
    Then the meeting is scheduled for 2026-04-01
    And the forum has 2 meetings

  Scenario: A meeting is held with the attending organisations and the cases discussed
    When the forum holds the meeting on 2026-03-04 with aarhus-kommune, oestjyllands-politi and foreningen-broen attending, discussing the case
    Then the meeting was held on 2026-03-04 with aarhus-kommune, oestjyllands-politi and foreningen-broen attending
    And the meeting records the case as discussed
    And the case was discussed at the meeting on 2026-03-04

  Scenario: A meeting is cancelled
    When the coordinator cancels the meeting because "Vinterferie"
    Then the meeting is cancelled

  @refusal
  Scenario: A meeting is held only once
    Given the forum held the meeting on 2026-03-04 with aarhus-kommune and oestjyllands-politi attending
    When the forum tries to hold the meeting on 2026-03-05 with aarhus-kommune and foreningen-broen attending
    Then it is refused with MeetingAlreadyHeldError
    And nothing was recorded
    And the meeting was held on 2026-03-04 with aarhus-kommune and oestjyllands-politi attending

  @refusal
  Scenario: An organisation that is not a member of the forum cannot attend its meeting
    When the forum tries to hold the meeting on 2026-03-04 with aarhus-kommune and klub-gellerup attending, discussing the case
    Then it is refused with NotAMemberError
    And nothing was recorded on the forum nor on any of the cases
    And the meeting is still scheduled
    And the case was never discussed

  @refusal
  Scenario: A cancelled meeting cannot be held
    Given the coordinator cancelled the meeting because "Vinterferie"
    When the forum tries to hold the meeting on 2026-03-04 with aarhus-kommune attending
    Then it is refused with MeetingCancelledError
    And nothing was recorded
    And the meeting is cancelled

  @refusal
  Scenario: A meeting cannot be recorded as held on a date that has not yet come
    When the forum tries to hold the meeting on 2026-07-01 with aarhus-kommune attending, discussing the case
    Then it is refused with InvalidValueError on "held_on"
    And nothing was recorded on the forum nor on any of the cases
    And the meeting is still scheduled
