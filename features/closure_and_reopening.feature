Feature: Closing and reopening cases
  A case closes with a reason, usually with a post-closure review some months later to make
  sure the person is still doing well. A closed case takes no more work until it is
  reopened; a reopened case is assessed afresh.

  Background:
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    And a cross_over concern about "Ali" was referred by aarhus-boligsocial on 2026-02-02 under retsplejeloven_115
    And the case was assessed as accept on 2026-02-09

  Scenario Outline: A case is closed as <reason> with a post-closure review six months later
    When the coordinator closes the case on 2026-03-16 as <reason> with a post-closure review on 2026-09-16
    Then the case is closed as <reason> on 2026-03-16
    And a post-closure review of the case is due on 2026-09-16
    And the case's history reads Referred, Assessed, Closed

    Examples:
      | reason        |
      | resolved      |
      | unfounded     |
      | transferred   |
      | police_matter |
      | moved_away    |
      | other         |

  Scenario: The post-closure review of a closed case is recorded
    Given the case was closed on 2026-03-02 as resolved with a post-closure review on 2026-06-02
    When the coordinator records the review on 2026-06-03 with notes "Er i lære som tømrer, ingen ny bekymring"
    Then the case was reviewed on 2026-06-03
    And no post-closure review of the case is due
    And the case's status is closed
    And the case's history reads Referred, Assessed, Closed, Reviewed

  Scenario: A closed case is reopened and assessed afresh
    Given the case was closed on 2026-03-02 as moved_away
    When the coordinator reopens the case on 2026-05-04 because "Familien er flyttet tilbage til Gellerup"
    Then the case's status is awaiting_assessment
    And the case was reopened on 2026-05-04
    When the coordinator assesses the case as accept on 2026-05-06
    And the coordinator agrees an exit_programme action "Exitforløb" owned by aarhus-kommune on 2026-05-06, due 2026-06-15
    Then the case's status is active
    And the case has 1 open action
    And the case's history reads Referred, Assessed, Closed, Reopened, Assessed, ActionAgreed

  @refusal
  Scenario: No action is agreed on a closed case
    Given the case was closed on 2026-03-02 as resolved
    When the coordinator tries to agree a mentor action "Mentorforløb" owned by foreningen-broen on 2026-03-05, due 2026-04-15
    Then it is refused with CaseClosedError
    And nothing was recorded
    And the case has 0 open actions

  @refusal
  Scenario: A case with an open action cannot be closed
    Given a mentor action "Mentorforløb" owned by foreningen-broen was agreed on 2026-02-16, due 2026-04-15
    When the coordinator tries to close the case on 2026-03-16 as resolved
    Then it is refused with OpenActionsError
    And nothing was recorded
    And the case's status is active

  @refusal
  Scenario: A case is closed only with a known reason
    When the coordinator tries to close the case on 2026-03-16 as bored
    Then it is refused with InvalidValueError on "reason"
    And nothing was recorded

  @refusal
  Scenario: The post-closure review falls after the closure
    When the coordinator tries to close the case on 2026-03-16 as resolved with a post-closure review on 2026-03-01
    Then it is refused with InvalidValueError on "post_closure_review_on"
    And nothing was recorded

  @refusal
  Scenario: A closed case cannot be closed again
    Given the case was closed on 2026-03-02 as resolved
    When the coordinator tries to close the case on 2026-03-16 as other
    Then it is refused with CaseClosedError
    And nothing was recorded

  @refusal
  Scenario: An open case cannot be reopened
    When the coordinator tries to reopen the case on 2026-03-16 because "Ny henvendelse"
    Then it is refused with CaseNotClosedError
    And nothing was recorded
    And the case's status is active

  @refusal
  Scenario: A case cannot be closed on a date before its last completed action
    Given a mentor action "Mentorforløb" owned by foreningen-broen was agreed on 2026-02-16, due 2026-04-15
    And the action was completed on 2026-04-10
    When the coordinator tries to close the case on 2026-03-16 as resolved
    Then it is refused with DateOrderError on "closed_on"
    And nothing was recorded

  @refusal
  Scenario: A reopened case cannot be closed again on a date before it was reopened
    Given the case was closed on 2026-03-02 as moved_away
    And the coordinator reopened the case on 2026-05-04 because "Familien er flyttet tilbage"
    When the coordinator tries to close the case on 2026-04-01 as resolved
    Then it is refused with DateOrderError on "closed_on"
    And nothing was recorded
