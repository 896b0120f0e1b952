"""What a reader raises when the caller asked for something it cannot answer.

Readers know nothing of HTTP: the API maps these to its error shape (``streamscope.api.errors``:
:class:`NotFound` is a 404, every other :class:`QueryError` a 400, with ``code`` and ``message`` as
given) and the CLI prints ``message`` as its one error line.
"""

from __future__ import annotations


class QueryError(Exception):
    """Bad input to a reader: ``code`` is machine-readable (``invalid_cursor``), ``message`` says
    what is wrong and starts with the name of the parameter at fault when there is one."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BadParameter(QueryError):
    """Parameter ``name`` is not acceptable: code ``invalid_parameter``, message ``name: problem``."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__("invalid_parameter", f"{name}: {problem}")
        self.name = name


class NotFound(QueryError):
    """The thing asked for (a channel, a stream) is not in the warehouse."""
