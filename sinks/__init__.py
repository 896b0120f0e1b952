"""Sinks: where pipelines and exports write (ClickHouse; files in ``streamscope.sinks.files``)."""
