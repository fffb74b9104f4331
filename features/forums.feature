Feature: Establishing a collaboration forum and keeping its membership
  A municipality sets up a collaboration forum (samarbejdsforum) for its vulnerable housing
  areas. The coordinating municipality chairs it; the housing-social team, the local police
  and civil-society partners take part as members. The forum also maps the resources and
  challenges of its areas (model part 2), aggregated and without personal data.

  Scenario: A forum is established with members of all four organisation kinds
    Given the registered organisations:
      | organisation        | name                               | kind           |
      | aarhus-kommune      | Aarhus Kommune, SSP og tovholder   | municipality   |
      | aarhus-boligsocial  | Helhedsplan Gellerup-Toveshøj      | housing_social |
      | oestjyllands-politi | Østjyllands Politi, forebyggelse   | police         |
      | foreningen-broen    | Foreningen Broen (mentorkorps)     | civil_society  |
      | klub-gellerup       | Klub Gellerup                      | civil_society  |
    When aarhus-kommune establishes the forum "Samarbejdsforum Gellerup-Toveshøj" in Aarhus on 2026-01-05 for Gellerupparken and Toveshøj with the members aarhus-kommune, aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    Then the forum is chaired by aarhus-kommune
    And the forum's members are aarhus-kommune, aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    And the forum's members span the organisation kinds municipality, housing_social, police and civil_society
    And the forum covers the housing areas Gellerupparken and Toveshøj

  Scenario: A partner organisation joins the forum
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    When klub-gellerup joins the forum on 2026-02-02
    Then the forum's members are aarhus-kommune, aarhus-boligsocial, oestjyllands-politi, foreningen-broen and klub-gellerup

  Scenario: A member leaves the forum
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    When foreningen-broen leaves the forum on 2026-03-02
    Then the forum's members are aarhus-kommune, aarhus-boligsocial and oestjyllands-politi

  @refusal
  Scenario: The chair cannot leave its own forum
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    When aarhus-kommune tries to leave the forum on 2026-03-02
    Then it is refused with ChairCannotLeaveError
    And nothing was recorded
    And the forum's members are aarhus-kommune, aarhus-boligsocial, oestjyllands-politi and foreningen-broen

  @refusal
  Scenario: An organisation does not leave the forum before the day it joined
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    When klub-gellerup joins the forum on 2026-02-02
    And klub-gellerup tries to leave the forum on 2026-02-01
    Then it is refused with DateOrderError on "left_on"
    And nothing was recorded
    And the forum's members are aarhus-kommune, aarhus-boligsocial, oestjyllands-politi, foreningen-broen and klub-gellerup

  @refusal
  Scenario: An organisation that is already a member cannot join again
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    When oestjyllands-politi tries to join the forum on 2026-02-02
    Then it is refused with AlreadyAMemberError
    And nothing was recorded

  Scenario: The forum records a mapping of one of its housing areas
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    When the coordinator records an area mapping of Gellerupparken on 2026-02-10 with resources "Aktivt foreningsliv, lektiecafé" and challenges "Unge uden uddannelse, bandekonflikt"
    Then the forum holds an area mapping of Gellerupparken recorded on 2026-02-10

  @refusal
  Scenario: An area mapping is only recorded for one of the forum's own housing areas
    Given the forum "Gellerup-Toveshøj" was established on 2026-01-05 for Gellerupparken and Toveshøj, chaired by aarhus-kommune with the members aarhus-boligsocial, oestjyllands-politi and foreningen-broen
    When the coordinator tries to record an area mapping of Bispehaven on 2026-02-10 with resources "Nyt medborgerhus" and challenges "Utryghed om aftenen"
    Then it is refused with InvalidValueError on "housing_area"
    And nothing was recorded
