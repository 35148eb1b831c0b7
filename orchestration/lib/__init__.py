"""Shared helpers: the DuckDB warehouse (lock, schema, upsert) and input validation."""
