"""Dagster definitions for the six-phase video pipeline."""
