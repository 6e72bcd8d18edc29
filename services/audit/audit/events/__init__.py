"""Audit events: search, CSV export and purge."""
