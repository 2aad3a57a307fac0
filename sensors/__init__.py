"""Kafka request and cancel sensors, run-status sensors, stuck-request re-submission and partition retention."""
