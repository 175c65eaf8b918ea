"""Background jobs of 一网通办 (deadline reminders and escalation)."""
