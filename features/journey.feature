Feature: Following a concern from referral to closure
  The whole collaboration model for one person: a concern is referred, assessed, discussed
  at a meeting, actions are agreed and followed up, the case is reviewed and closed with a
  post-closure review — and the history tells it all, in order, for the evaluators.

  Scenario: A younger sibling's concern is followed through the whole model
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    And a meeting of the forum is scheduled for 2026-02-18
    When the coordinator registers a younger_sibling concern about "Sara" referred by aarhus-boligsocial on 2026-02-02 under consent
    And the coordinator assesses the case as accept on 2026-02-09
    And the forum holds the meeting on 2026-02-18 with aarhus-kommune, aarhus-boligsocial, oestjyllands-politi and foreningen-broen attending, discussing the case
    And the forum agrees at the meeting a mentor action "Mentor fra Broen" owned by foreningen-broen, due 2026-03-31
    And the coordinator reschedules the action to 2026-04-15 on 2026-03-25 because "Mentor syg"
    And the action is completed on 2026-04-14 with outcome "Fast mentor etableret"
    And the coordinator schedules a review of the case for 2026-05-01 on 2026-04-15
    And the coordinator records the review on 2026-05-01 with notes "Går godt"
    And the coordinator closes the case on 2026-05-04 as resolved with a post-closure review on 2026-11-04
    Then the case is closed as resolved on 2026-05-04
    And a post-closure review of the case is due on 2026-11-04
    And the action is completed on 2026-04-14
    And the case's history reads Referred, Assessed, Discussed, ActionAgreed, ActionRescheduled, ActionCompleted, ReviewScheduled, Reviewed, Closed
