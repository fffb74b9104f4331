Feature: Agreeing and following up actions
  The forum agrees actions on an accepted case — each with exactly one responsible
  organisation, a member of the forum, and a due date. Actions are re-planned, completed or
  cancelled; nothing is allowed to peter out silently, and nothing happens twice.

  Background:
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    And a cross_over concern about "Ali" was referred by aarhus-boligsocial on 2026-02-02 under retsplejeloven_115
    And the case was assessed as accept on 2026-02-09
    And a meeting of the forum is scheduled for 2026-03-04
    And the forum held the meeting on 2026-03-04 with aarhus-kommune, oestjyllands-politi and foreningen-broen attending, discussing the case

  Scenario: The forum agrees an action at a meeting, with one owner and a due date
    When the forum agrees at the meeting a mentor action "Mentorforløb hos Broen" owned by foreningen-broen, due 2026-04-15
    Then the action is open, owned by foreningen-broen and due 2026-04-15
    And the action was agreed at the meeting on 2026-03-04
    And the case's next due date is 2026-04-15
    And the case has 1 open action

  Scenario: The coordinator re-plans an action with a new due date
    Given a family_dialogue action "Familiesamtale" owned by aarhus-kommune was agreed on 2026-03-05, due 2026-03-20
    When the coordinator reschedules the action to 2026-04-10 on 2026-03-18 because "Familien var bortrejst"
    Then the action is open, owned by aarhus-kommune and due 2026-04-10
    And the case's next due date is 2026-04-10
    And the case's history reads Referred, Assessed, Discussed, ActionAgreed, ActionRescheduled

  Scenario: The responsible organisation completes the action
    Given a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-03-05, due 2026-03-31
    When the action is completed on 2026-03-25 with outcome "Samtale gennemført med forældre til stede"
    Then the action is completed on 2026-03-25
    And the case has 0 open actions
    And the case has no next due date

  Scenario: The coordinator cancels an action
    Given a leisure_or_job action "Fritidsjob" owned by aarhus-boligsocial was agreed on 2026-03-05, due 2026-04-30
    When the coordinator cancels the action on 2026-03-20 because "Har selv fundet fritidsjob"
    Then the action is cancelled on 2026-03-20
    And the case has 0 open actions

  @refusal
  Scenario: An action without a responsible organisation is refused
    When the coordinator tries to agree a mentor action "Mentorforløb" with no owner on 2026-03-05, due 2026-04-15
    Then it is refused with InvalidValueError on "responsible_org"
    And nothing was recorded
    And the case has 0 open actions

  @refusal
  Scenario: An action without a due date is refused
    When the coordinator tries to agree a mentor action "Mentorforløb" owned by foreningen-broen on 2026-03-05 with no due date
    Then it is refused with InvalidValueError on "due_on"
    And nothing was recorded
    And the case has 0 open actions

  @refusal
  Scenario: An action cannot be owned by an organisation outside the forum
    When the coordinator tries to agree a leisure_or_job action "Plads i klubben" owned by klub-gellerup on 2026-03-05, due 2026-04-15
    Then it is refused with NotAMemberError
    And nothing was recorded
    And the case has 0 open actions

  @refusal
  Scenario: An action cannot fall due before the referral
    When the coordinator tries to agree a mentor action "Mentorforløb" owned by foreningen-broen on 2026-03-05, due 2026-01-20
    Then it is refused with DateOrderError on "due_on"
    And nothing was recorded

  @refusal
  Scenario: An action is completed at most once
    Given a mentor action "Mentorforløb" owned by foreningen-broen was agreed on 2026-03-05, due 2026-04-15
    And the action was completed on 2026-04-10
    When the coordinator tries to complete the action on 2026-04-12 with outcome "Afsluttet igen"
    Then it is refused with ActionAlreadyCompletedError
    And nothing was recorded
    And the action is completed on 2026-04-10

  @refusal
  Scenario: A cancelled action cannot be completed
    Given a mentor action "Mentorforløb" owned by foreningen-broen was agreed on 2026-03-05, due 2026-04-15
    And the action was cancelled on 2026-03-20
    When the coordinator tries to complete the action on 2026-04-10 with outcome "Gennemført alligevel"
    Then it is refused with ActionCancelledError
    And nothing was recorded
    And the action is cancelled on 2026-03-20

  @refusal
  Scenario: An action cannot be completed on a date that has not yet come
    Given a mentor action "Mentorforløb" owned by foreningen-broen was agreed on 2026-03-05, due 2026-04-15
    When the coordinator tries to complete the action on 2026-07-01 with outcome "Gennemført"
    Then it is refused with InvalidValueError on "completed_on"
    And nothing was recorded
    And the action is open, owned by foreningen-broen and due 2026-04-15

  @refusal
  Scenario Outline: A case assessed as <decision> takes no actions until it is reopened and accepted
    Given the case was assessed as <decision> on 2026-03-06
    When the coordinator tries to agree a mentor action "Mentorforløb" owned by foreningen-broen on 2026-03-09, due 2026-04-15
    Then it is refused with ActionsNotAllowedError
    And nothing was recorded
    When the coordinator reopens the case on 2026-03-16 because "Ny bekymring fra skolen"
    And the coordinator assesses the case as accept on 2026-03-17
    And the coordinator agrees a mentor action "Mentorforløb" owned by foreningen-broen on 2026-03-18, due 2026-04-15
    Then the case has 1 open action
    And the case's status is active

    Examples:
      | decision          |
      | redirect          |
      | no_further_action |
