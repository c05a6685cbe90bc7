"""Custom business metrics pushed through the ingest API: keys, both sources, the service."""
