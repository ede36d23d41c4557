"""Zones, lines and schedules, and rule evaluation into alerts."""
