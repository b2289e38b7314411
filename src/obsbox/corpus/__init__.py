"""The generated half of the incident corpus (alert_rules/incidents/GENERATOR.md)."""
