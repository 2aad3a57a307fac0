"""Pure domain and media logic for Nexus Video: knows nothing of Dagster or HTTP."""
