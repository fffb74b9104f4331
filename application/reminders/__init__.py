"""Follow-up: reminder rules, the reminders-due read model, and the dispatcher that delivers them."""
