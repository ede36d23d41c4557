"""Clip cutting, hashing and retention of recorded footage."""
