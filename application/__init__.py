"""Forebyg's application layer: commands, queries and the services that orchestrate them."""
