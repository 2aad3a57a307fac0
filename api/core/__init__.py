"""Settings, security, database, rate limits and metrics of the API: no routes here."""
