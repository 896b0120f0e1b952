"""Sinks: where pipelines and exports write (ClickHouse; files in ``sinks.files``)."""
