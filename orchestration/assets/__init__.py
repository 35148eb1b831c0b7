"""Assets: ingestion (raw) and dbt (staging, marts)."""
