"""Sinks: where pipelines write (ClickHouse; Kafka and files come with later issues)."""
