"""Per-camera tracking, appearance features and cross-camera identities."""
