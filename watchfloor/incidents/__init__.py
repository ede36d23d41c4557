"""Incident lifecycle, timeline and evidence export."""
