"""The embedded default: a DuckDB store, a workload simulator and the local ingest endpoint."""
