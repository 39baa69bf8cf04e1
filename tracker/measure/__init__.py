"""Measurement: specs compiled to SQL aggregates, judged in plain Python."""
