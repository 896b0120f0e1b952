"""The read side: typed reads of the warehouse for the API, exports, the web page and the analyst.

One reader per resource (messages, events, channels, streams, archive exports). Readers take a
warehouse handle and typed parameters and return typed rows; they raise
:class:`~streamscope.query.errors.QueryError` for bad input, which the API turns into a 4xx.
"""
