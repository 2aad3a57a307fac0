"""Signed webhooks (the Standard Webhooks scheme): endpoints per user, durable deliveries, the worker.

signing.py (secrets, the v1 signature), urls.py (what an endpoint may point at: no SSRF), store.py (the
rows: endpoints, deliveries written in the caller's transaction, the attempt log), worker.py (the
background thread that observes the pipeline's final statuses and sends with backoff).
"""
