"""Clinic scheduling backend: the Python side (CLI, local database, workers)."""
