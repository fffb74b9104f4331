Feature: Referring and assessing concerns
  A member organisation refers a concern (bekymringshenvendelse) about a person in one of
  the two target groups, under a recorded legal basis. The forum assesses it by professional
  judgement — risk and threat, and well-being and resilience, recorded separately — and
  decides to accept it, redirect it, or take no further action.

  Background:
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen

  Scenario Outline: A concern is referred in the <group> target group
    When the coordinator registers a <group> concern about "<name>" referred by <org> on 2026-02-02 under <basis>
    Then the case's status is awaiting_assessment
    And the case is in the <group> target group, referred by <org> on 2026-02-02 under <basis>
    And the case's history reads Referred

    Examples:
      | group           | name  | org                 | basis              |
      | cross_over      | Ali   | oestjyllands-politi | retsplejeloven_115 |
      | younger_sibling | Amina | aarhus-boligsocial  | consent            |

  Scenario Outline: The forum assesses a concern as <decision>
    Given a cross_over concern about "Ali" was referred by aarhus-boligsocial on 2026-02-02 under retsplejeloven_115
    When the coordinator assesses the case as <decision> on 2026-02-09
    Then the case's status is <status>
    And the case was assessed as <decision> on 2026-02-09
    And the assessment keeps risk and threat apart from well-being and resilience
    And the case's history reads Referred, Assessed

    Examples:
      | decision          | status            |
      | accept            | active            |
      | redirect          | redirected        |
      | no_further_action | no_further_action |

  @refusal
  Scenario: A concern in an unknown target group is refused
    When the coordinator tries to register a gang_member concern about "Ali" referred by aarhus-boligsocial on 2026-02-02 under retsplejeloven_115
    Then it is refused with InvalidValueError on "target_group"
    And nothing was recorded

  @refusal
  Scenario: A concern cannot be received on a date that has not yet come
    When the coordinator tries to register a cross_over concern about "Ali" referred by aarhus-boligsocial on 2026-07-01 under retsplejeloven_115
    Then it is refused with InvalidValueError on "received_on"
    And nothing was recorded

  @refusal
  Scenario: Only a member organisation of the forum refers concerns to it
    When the coordinator tries to register a cross_over concern about "Ali" referred by klub-gellerup on 2026-02-02 under retsplejeloven_115
    Then it is refused with NotAMemberError
    And nothing was recorded

  @refusal
  Scenario: An assessment cannot be dated before the referral
    Given a cross_over concern about "Ali" was referred by aarhus-boligsocial on 2026-02-02 under retsplejeloven_115
    When the coordinator tries to assess the case as accept on 2026-01-30
    Then it is refused with DateOrderError on "assessed_on"
    And nothing was recorded
    And the case's status is awaiting_assessment

  @refusal
  Scenario: An assessment cannot be dated in the future
    Given a cross_over concern about "Ali" was referred by aarhus-boligsocial on 2026-02-02 under retsplejeloven_115
    When the coordinator tries to assess the case as accept on 2026-07-01
    Then it is refused with InvalidValueError on "assessed_on"
    And nothing was recorded

  @refusal
  Scenario: A redirected case is not assessed again until it is reopened
    Given a cross_over concern about "Ali" was referred by aarhus-boligsocial on 2026-02-02 under retsplejeloven_115
    And the case was assessed as redirect on 2026-02-09
    When the coordinator tries to assess the case as accept on 2026-02-16
    Then it is refused with AssessmentNotAllowedError
    And nothing was recorded
    And the case's status is redirected

  @refusal
  Scenario: A case that does not exist cannot be assessed
    When the coordinator tries to assess an unknown case as accept on 2026-02-09
    Then it is refused with CaseNotFoundError
    And nothing was recorded
