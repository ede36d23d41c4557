"""The detector interface and backends, the motion gate and the weights catalogue."""
