"""The REST API: authenticates, validates, prices, records and enqueues; the pipeline does the work."""
