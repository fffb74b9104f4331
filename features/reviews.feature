Feature: Reviewing an open case
  The forum schedules a review of an open case so that it does not peter out, and records
  the review when it has been held.

  Background:
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    And a younger_sibling concern about "Amina" was referred by aarhus-kommune on 2026-02-02 under databeskyttelsesloven_8
    And the case was assessed as accept on 2026-02-09

  Scenario: A review is scheduled and then held
    When the coordinator schedules a review of the case for 2026-05-01 on 2026-04-01
    Then the case's next review is on 2026-05-01
    When the coordinator records the review on 2026-05-04 with notes "Trives i skolen, mentor fortsætter"
    Then the case was reviewed on 2026-05-04
    And no review of the case is due
    And the case's history reads Referred, Assessed, ReviewScheduled, Reviewed

  @refusal
  Scenario: A review that was never scheduled cannot be recorded
    When the coordinator tries to record the review on 2026-05-04 with notes "Status"
    Then it is refused with NoReviewDueError
    And nothing was recorded

  @refusal
  Scenario: A review cannot be planned before the referral
    When the coordinator tries to schedule a review of the case for 2026-01-20 on 2026-02-10
    Then it is refused with DateOrderError on "review_on"
    And nothing was recorded
