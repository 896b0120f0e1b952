"""Twitch logins (``xqcow``) as users and payloads write them, in the one form streamscope keys on."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["is_login", "normalize_login", "normalize_logins"]

# Spelled out rather than \w or \d, which match non-ASCII letters and digits under re's Unicode rules.
_LOGIN = re.compile(r"[a-z0-9_]{1,25}")


def normalize_login(value: str) -> str:
    """``value`` as a login: surrounding whitespace and leading ``#`` removed, lower-cased.

    ``' #XQCow '`` → ``'xqcow'``. Nothing is validated: a blank value gives ``''`` and a value that
    is no Twitch login comes back normalised all the same (callers that need a valid login check it).
    """
    return value.strip().lstrip("#").lower()


def is_login(value: str) -> bool:
    """Whether ``value`` (already normalised: :func:`normalize_login`) has a Twitch login's syntax,
    1 to 25 of ``a-z``, ``0-9`` and ``_``."""
    return _LOGIN.fullmatch(value) is not None


def normalize_logins(values: Iterable[str]) -> list[str]:
    """The distinct non-blank logins of ``values``, normalised (:func:`normalize_login`), in the order
    they first appear."""
    return list(dict.fromkeys(login for login in map(normalize_login, values) if login))
