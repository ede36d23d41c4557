"""Watchfloor: a video event response engine for physical security."""

__version__ = "0.1.0"
