Feature: Reminders keep the forum's work from petering out
  Every open thread of the forum's work falls due at some point: an action that is due soon
  or overdue, a referral that has not been assessed, an accepted case that has not been
  discussed, a review, a post-closure review, a forum that has not met, an action with no
  follow-up. When a reminder falls due it is delivered once to the in-app inbox of the
  organisation that must act — the action's owner, or the forum's chair for the forum's own
  business and for escalations — and recorded on the case or the forum. A reminder whose
  condition no longer holds (the action completed, the case assessed, the meeting held) is
  never delivered. Unless stated otherwise the horizons are the defaults: 3 days' notice of an
  action falling due, escalation 14 days after it became overdue, assessment within 14 days,
  discussion within 21 days of acceptance, a meeting at least every 8 weeks, and follow-up of
  an open action at least every 30 days.

  Background:
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    And a cross_over concern about "Ali" was referred by aarhus-boligsocial on 2026-02-02 under retsplejeloven_115

  # --- actions -------------------------------------------------------------------------------

  Scenario Outline: An action owned by the police is due soon from 3 days before its due date (<today>)
    Given the case was assessed as accept on 2026-02-09
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    When the reminders are dispatched on <today>
    Then oestjyllands-politi <reminded> that the action is due soon
    And aarhus-kommune is not reminded that the action is due soon

    Examples:
      | today      | reminded        |
      | 2026-04-11 | is not reminded |
      | 2026-04-12 | is reminded     |
      | 2026-04-15 | is reminded     |

  Scenario Outline: An action owned by the police is overdue from the day after its due date (<today>)
    Given the case was assessed as accept on 2026-02-09
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    When the reminders are dispatched on <today>
    Then oestjyllands-politi <reminded> that the action is overdue
    And aarhus-kommune is not reminded that the action is still overdue

    Examples:
      | today      | reminded        |
      | 2026-04-15 | is not reminded |
      | 2026-04-16 | is reminded     |
      | 2026-04-29 | is reminded     |

  Scenario Outline: An action still overdue after a second period is escalated to the chair (<today>)
    Given the case was assessed as accept on 2026-02-09
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    When the reminders are dispatched on 2026-04-12
    And the reminders are dispatched on 2026-04-16
    And the reminders are dispatched on <today>
    Then aarhus-kommune <escalated> that the action is still overdue
    And oestjyllands-politi is not reminded that the action is still overdue
    And the inbox of oestjyllands-politi holds:
      | reminder        | about      | concerning | sent on    |
      | action_overdue  | the action | 2026-04-15 | 2026-04-16 |
      | action_due_soon | the action | 2026-04-15 | 2026-04-12 |

    Examples:
      | today      | escalated       |
      | 2026-04-29 | is not reminded |
      | 2026-04-30 | is reminded     |

  Scenario: Completing the action before its due date means it is never overdue
    Given the case was assessed as accept on 2026-02-09
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    When the reminders are dispatched on 2026-04-12
    Then oestjyllands-politi is reminded that the action is due soon
    When it is 2026-04-14
    And the action is completed on 2026-04-14 with outcome "Samtale gennemført med forældre til stede"
    And the reminders are dispatched on 2026-04-16
    And the reminders are dispatched on 2026-05-15
    Then oestjyllands-politi is not reminded that the action is overdue
    And aarhus-kommune is not reminded that the action is still overdue
    And oestjyllands-politi is not reminded that the action has stalled
    And the inbox of oestjyllands-politi holds:
      | reminder        | about      | concerning | sent on    |
      | action_due_soon | the action | 2026-04-15 | 2026-04-12 |

  Scenario: An overdue action completed within the second period is not escalated
    Given the case was assessed as accept on 2026-02-09
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    When the reminders are dispatched on 2026-04-16
    Then oestjyllands-politi is reminded that the action is overdue
    When it is 2026-04-22
    And the action is completed on 2026-04-22 with outcome "Samtale gennemført en uge for sent"
    And the reminders are dispatched on 2026-05-15
    Then aarhus-kommune is not reminded that the action is still overdue
    And oestjyllands-politi is not reminded that the action has stalled

  Scenario: A cancelled action is never overdue
    Given the case was assessed as accept on 2026-02-09
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    When the coordinator cancels the action on 2026-04-10 because "Familien er flyttet"
    And the reminders are dispatched on 2026-05-15
    Then the inbox of oestjyllands-politi is empty
    And aarhus-kommune is not reminded that the action is still overdue

  Scenario: An action agreed by phone last Tuesday is overdue from the day after its due date
    Given the case was assessed as accept on 2026-02-09
    And it is 2026-04-16
    When the coordinator agrees a concern_conversation action "Bekymringssamtale aftalt pr. telefon" owned by oestjyllands-politi on 2026-04-14, due 2026-04-15
    Then the action was agreed on 2026-04-14, outside any meeting
    When the reminders are dispatched on 2026-04-16
    Then oestjyllands-politi is reminded that the action is overdue

  @refusal
  Scenario: An action is not agreed on a day still to come
    Given the case was assessed as accept on 2026-02-09
    And it is 2026-04-16
    When the coordinator tries to agree a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi on 2026-04-17, due 2026-04-30
    Then it is refused with InvalidValueError on "agreed_on"
    And nothing was recorded

  Scenario: Re-planning an action moves its reminders to the new due date
    Given the case was assessed as accept on 2026-02-09
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    When the coordinator reschedules the action to 2026-05-08 on 2026-04-14 because "Familien var bortrejst"
    And the reminders are dispatched on 2026-04-20
    Then the inbox of oestjyllands-politi is empty
    When the reminders are dispatched on 2026-05-05
    And the reminders are dispatched on 2026-05-09
    Then the inbox of oestjyllands-politi holds:
      | reminder        | about      | concerning | sent on    |
      | action_overdue  | the action | 2026-05-08 | 2026-05-09 |
      | action_due_soon | the action | 2026-05-08 | 2026-05-05 |

  Scenario Outline: An open action with no follow-up for 30 days has stalled (<today>)
    Given the case was assessed as accept on 2026-02-09
    And a mentor action "Mentorforløb hos Broen" owned by foreningen-broen was agreed on 2026-03-05, due 2026-06-15
    When the reminders are dispatched on <today>
    Then foreningen-broen <reminded> that the action has stalled

    Examples:
      | today      | reminded        |
      | 2026-04-03 | is not reminded |
      | 2026-04-04 | is reminded     |

  Scenario Outline: Re-planning an open action counts as follow-up (<today>)
    Given the case was assessed as accept on 2026-02-09
    And a mentor action "Mentorforløb hos Broen" owned by foreningen-broen was agreed on 2026-03-05, due 2026-06-15
    When the coordinator reschedules the action to 2026-06-30 on 2026-03-20 because "Ny mentor først ledig i juni"
    And the reminders are dispatched on <today>
    Then foreningen-broen <reminded> that the action has stalled

    Examples:
      | today      | reminded        |
      | 2026-04-04 | is not reminded |
      | 2026-04-18 | is not reminded |
      | 2026-04-19 | is reminded     |

  # --- referral, assessment and discussion ----------------------------------------------------

  Scenario Outline: A referral not assessed within 14 days is brought to the chair (<today>)
    When the reminders are dispatched on <today>
    Then aarhus-kommune <reminded> that the referral has not been assessed
    And aarhus-boligsocial is not reminded that the referral has not been assessed

    Examples:
      | today      | reminded        |
      | 2026-02-15 | is not reminded |
      | 2026-02-16 | is reminded     |

  Scenario: A referral assessed in time gives no reminder
    Given the case was assessed as accept on 2026-02-13
    When the reminders are dispatched on 2026-02-16
    Then aarhus-kommune is not reminded that the referral has not been assessed

  Scenario Outline: A reopened case is to be assessed afresh within 14 days (<today>)
    Given the case was assessed as accept on 2026-02-09
    And the case was closed on 2026-03-02 as moved_away
    And the coordinator reopened the case on 2026-05-04 because "Familien er flyttet tilbage til Gellerup"
    When the reminders are dispatched on <today>
    Then aarhus-kommune <reminded> that the referral has not been assessed

    Examples:
      | today      | reminded        |
      | 2026-05-17 | is not reminded |
      | 2026-05-18 | is reminded     |

  Scenario Outline: An accepted case not discussed within 21 days is brought to the chair (<today>)
    Given the case was assessed as accept on 2026-02-09
    When the reminders are dispatched on <today>
    Then aarhus-kommune <reminded> that the accepted case has not been discussed

    Examples:
      | today      | reminded        |
      | 2026-03-01 | is not reminded |
      | 2026-03-02 | is reminded     |

  Scenario: An accepted case discussed in time gives no reminder
    Given the case was assessed as accept on 2026-02-09
    And a meeting of the forum is scheduled for 2026-02-25
    And the forum held the meeting on 2026-02-25 with aarhus-kommune and oestjyllands-politi attending, discussing the case
    When the reminders are dispatched on 2026-03-02
    Then aarhus-kommune is not reminded that the accepted case has not been discussed

  # --- reviews ---------------------------------------------------------------------------------

  Scenario Outline: A review of the case is due on the day it was planned for (<today>)
    Given the case was assessed as accept on 2026-02-09
    When the coordinator schedules a review of the case for 2026-05-01 on 2026-04-01
    And the reminders are dispatched on <today>
    Then aarhus-kommune <reminded> that a review of the case is due

    Examples:
      | today      | reminded        |
      | 2026-04-30 | is not reminded |
      | 2026-05-01 | is reminded     |

  Scenario: A review held before it fell due gives no reminder
    Given the case was assessed as accept on 2026-02-09
    When the coordinator schedules a review of the case for 2026-05-01 on 2026-04-01
    And the coordinator records the review on 2026-04-29 with notes "Trives i skolen, mentor fortsætter"
    And the reminders are dispatched on 2026-05-01
    Then aarhus-kommune is not reminded that a review of the case is due

  Scenario Outline: A post-closure review is due on the day it was planned for (<today>)
    Given the case was assessed as accept on 2026-02-09
    And the case was closed on 2026-03-02 as resolved with a post-closure review on 2026-06-02
    When the reminders are dispatched on <today>
    Then aarhus-kommune <reminded> that a post-closure review of the case is due

    Examples:
      | today      | reminded        |
      | 2026-06-01 | is not reminded |
      | 2026-06-02 | is reminded     |

  Scenario: A post-closure review held early gives no reminder
    Given the case was assessed as accept on 2026-02-09
    And the case was closed on 2026-03-02 as resolved with a post-closure review on 2026-06-02
    When the coordinator records the review on 2026-05-28 with notes "Er i lære som tømrer, ingen ny bekymring"
    And the reminders are dispatched on 2026-06-02
    Then aarhus-kommune is not reminded that a post-closure review of the case is due

  # --- the forum -------------------------------------------------------------------------------

  Scenario Outline: A forum without a meeting for 8 weeks is brought to its chair (<today>)
    When the reminders are dispatched on <today>
    Then aarhus-kommune <reminded> that the forum has not met for 8 weeks
    And oestjyllands-politi is not reminded that the forum has not met for 8 weeks

    Examples:
      | today      | reminded        |
      | 2026-03-01 | is not reminded |
      | 2026-03-02 | is reminded     |

  Scenario: Holding a meeting starts the 8 weeks afresh, and each reminder is recorded on the forum
    Given a meeting of the forum is scheduled for 2026-03-04
    When the reminders are dispatched on 2026-03-02
    Then aarhus-kommune is reminded that the forum has not met for 8 weeks
    When it is 2026-03-04
    And the forum holds the meeting on 2026-03-04 with aarhus-kommune and oestjyllands-politi attending
    And the reminders are dispatched on 2026-04-28
    Then nothing more is delivered
    When the reminders are dispatched on 2026-04-29
    Then the inbox of aarhus-kommune holds these reminders about the forum:
      | reminder              | about     | concerning | sent on    |
      | forum_without_meeting | the forum | 2026-03-04 | 2026-04-29 |
      | forum_without_meeting | the forum | 2026-01-05 | 2026-03-02 |
    And the forum's record holds 2 sent reminders

  # --- delivery --------------------------------------------------------------------------------

  Scenario: A reminder is delivered once, to the inbox of the organisation that owns the action
    Given the case was assessed as accept on 2026-02-09
    And a meeting of the forum is scheduled for 2026-03-04
    And the forum held the meeting on 2026-03-04 with aarhus-kommune, oestjyllands-politi and foreningen-broen attending, discussing the case
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    When the reminders are dispatched on 2026-04-12
    Then 1 reminder is delivered
    And the inbox of oestjyllands-politi holds:
      | reminder        | about      | concerning | sent on    |
      | action_due_soon | the action | 2026-04-15 | 2026-04-12 |
    And the inbox of aarhus-kommune is empty
    And the inbox of foreningen-broen is empty
    When the reminders are dispatched again on 2026-04-12
    Then nothing more is delivered
    When the reminders are dispatched again on 2026-04-13
    Then nothing more is delivered
    And the inbox of oestjyllands-politi holds:
      | reminder        | about      | concerning | sent on    |
      | action_due_soon | the action | 2026-04-15 | 2026-04-12 |

  Scenario: A delivered reminder is recorded on the case and shows in its history
    Given the case was assessed as accept on 2026-02-09
    And a meeting of the forum is scheduled for 2026-03-04
    And the forum held the meeting on 2026-03-04 with aarhus-kommune, oestjyllands-politi and foreningen-broen attending, discussing the case
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    When the reminders are dispatched on 2026-04-12
    Then the case's history reads Referred, Assessed, Discussed, ActionAgreed, ReminderSent
    And the case's history records the action_due_soon reminder about the action due 2026-04-15, sent to oestjyllands-politi's inbox on 2026-04-12

  Scenario: A restarted scheduler delivers nothing twice
    Given the case was assessed as accept on 2026-02-09
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    When the reminders are dispatched on 2026-04-12
    And the scheduler is restarted
    And the reminders are dispatched again on 2026-04-12
    Then nothing more is delivered
    And the inbox of oestjyllands-politi holds:
      | reminder        | about      | concerning | sent on    |
      | action_due_soon | the action | 2026-04-15 | 2026-04-12 |

  Scenario: Reminders rebuilt from the log are neither lost nor delivered twice
    Given the case was assessed as accept on 2026-02-09
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    When the reminders are dispatched on 2026-04-12
    And the read models are rebuilt from the log
    And the reminders are dispatched again on 2026-04-16
    Then 1 reminder is delivered
    And the inbox of oestjyllands-politi holds:
      | reminder        | about      | concerning | sent on    |
      | action_overdue  | the action | 2026-04-15 | 2026-04-16 |
      | action_due_soon | the action | 2026-04-15 | 2026-04-12 |

  # --- configuration -------------------------------------------------------------------------

  Scenario Outline: With 7 days' notice configured, an action is due soon a week ahead (<today>)
    Given the reminders are configured with FOREBYG_REMINDER_DUE_SOON_DAYS=7
    And the case was assessed as accept on 2026-02-09
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    When the reminders are dispatched on <today>
    Then oestjyllands-politi <reminded> that the action is due soon

    Examples:
      | today      | reminded        |
      | 2026-04-07 | is not reminded |
      | 2026-04-08 | is reminded     |

  # --- what the coordinator sees ---------------------------------------------------------------

  Scenario: The coordinator lists what is due and overdue in the forums of the municipality
    Given another forum "Tingbjerg" was established on 2026-01-12 for Tingbjerg, chaired by koebenhavns-kommune with the members koebenhavns-politi
    And a cross_over concern about "Omar" was referred to the other forum by koebenhavns-politi on 2026-03-02 under retsplejeloven_115
    And the case was assessed as accept on 2026-02-09
    And a meeting of the forum is scheduled for 2026-03-04
    And the forum held the meeting on 2026-03-04 with aarhus-kommune, oestjyllands-politi and foreningen-broen attending, discussing the case
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    And a second younger_sibling concern about "Amina" was referred by aarhus-kommune on 2026-04-01 under databeskyttelsesloven_8
    When the reminders are dispatched on 2026-04-13
    And it is 2026-04-16
    Then the coordinator from aarhus-kommune sees these reminders:
      | reminder              | about           | for                 | concerning | due from   | sent |
      | action_due_soon       | the action      | oestjyllands-politi | 2026-04-15 | 2026-04-12 | yes  |
      | referral_not_assessed | the second case | aarhus-kommune      | 2026-04-01 | 2026-04-15 | no   |
      | action_overdue        | the action      | oestjyllands-politi | 2026-04-15 | 2026-04-16 | no   |
    And the coordinator from koebenhavns-kommune sees these reminders:
      | reminder              | about                  | for                 | concerning | due from   | sent |
      | forum_without_meeting | the other forum        | koebenhavns-kommune | 2026-01-12 | 2026-03-09 | yes  |
      | referral_not_assessed | the other forum's case | koebenhavns-kommune | 2026-03-02 | 2026-03-16 | yes  |
    And a member from oestjyllands-politi may not list the reminders

  Scenario: The agenda of the next meeting lists new referrals, overdue actions, reviews due and cases to discuss
    Given the case was assessed as accept on 2026-02-09
    And a meeting of the forum is scheduled for 2026-03-04
    And the forum held the meeting on 2026-03-04 with aarhus-kommune, oestjyllands-politi and foreningen-broen attending, discussing the case
    And a mentor action "Mentorforløb hos Broen" owned by foreningen-broen was agreed on 2026-04-01, due 2026-05-15
    And a concern_conversation action "Bekymringssamtale" owned by oestjyllands-politi was agreed on 2026-04-01, due 2026-04-15
    And a second younger_sibling concern about "Amina" was referred by aarhus-kommune on 2026-03-10 under databeskyttelsesloven_8
    And the second case was assessed as accept on 2026-03-12
    And a third cross_over concern about "Yusuf" was referred by oestjyllands-politi on 2026-04-14 under retsplejeloven_115
    When the coordinator schedules a review of the case for 2026-04-20 on 2026-04-01
    And the coordinator schedules a meeting of the forum for 2026-04-22
    And it is 2026-04-20
    Then the agenda of the forum's meeting on 2026-04-22 lists:
      | item            | about           |
      | new referral    | the third case  |
      | overdue action  | the action      |
      | review due      | the case        |
      | case to discuss | the case        |
      | case to discuss | the second case |
    And the agenda names no person
