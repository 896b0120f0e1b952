"""Twitch logins (``xqcow``) as users and payloads write them, in the one form streamscope keys on."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["normalize_login", "normalize_logins"]


def normalize_login(value: str) -> str:
    """``value`` as a login: surrounding whitespace and leading ``#`` removed, lower-cased.

    ``' #XQCow '`` → ``'xqcow'``. Nothing is validated: a blank value gives ``''`` and a value that
    is no Twitch login comes back normalised all the same (callers that need a valid login check it).
    """
    return value.strip().lstrip("#").lower()


def normalize_logins(values: Iterable[str]) -> list[str]:
    """The distinct non-blank logins of ``values``, normalised (:func:`normalize_login`), in the order
    they first appear."""
    return list(dict.fromkeys(login for login in map(normalize_login, values) if login))
