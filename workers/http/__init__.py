"""The worker's web service: provider webhooks (and, later, OAuth callbacks and the ICS feed)."""
