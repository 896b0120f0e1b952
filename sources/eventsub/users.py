"""Who is reading and which channels: Helix ``GET /users`` with the user token.

EventSub conditions take numeric ids, while streamscope is configured with logins. ``GET /users``
without parameters answers the token's own user (the ``user_id`` of the chat subscriptions);
``GET /users?login=a&login=b...`` (at most 100 per request) maps logins to ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from streamscope.twitch.logins import normalize_login, normalize_logins

__all__ = ["HelixUsersError", "Resolved", "resolve"]

_BATCH = 100


class HelixUsersError(RuntimeError):
    """Helix refused the lookup; the message is Twitch's, never the token."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Helix GET /users answered {status}: {message}")
        self.status = status


@dataclass(frozen=True, slots=True)
class Resolved:
    user_id: str
    user_login: str
    channels: dict[str, str]
    """login -> broadcaster id, for the logins Twitch knows."""
    missing: tuple[str, ...]
    """Logins Twitch does not know (renamed, banned or misspelt)."""


async def _users(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], params: list[tuple[str, str | int]]
) -> list[dict[str, object]]:
    resp = await http.get(url, params=tuple(params), headers=headers)
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code != 200:
        message = str(body.get("message") or "") if isinstance(body, dict) else ""
        raise HelixUsersError(resp.status_code, message[:200] or resp.reason_phrase)
    data = body.get("data") if isinstance(body, dict) else None
    return [u for u in data if isinstance(u, dict)] if isinstance(data, list) else []


async def resolve(
    http: httpx.AsyncClient, helix_url: str, *, client_id: str, token: str, logins: Iterable[str]
) -> Resolved:
    """The token's user and the ids of ``logins`` (lowercased, deduplicated, order kept)."""
    url = helix_url.rstrip("/") + "/users"
    headers = {"Client-Id": client_id, "Authorization": f"Bearer {token}"}
    me = await _users(http, url, headers, [])
    if not me:
        raise HelixUsersError(200, "no user for this token (an app token cannot read chat)")
    wanted = normalize_logins(logins)
    found: dict[str, str] = {}
    for i in range(0, len(wanted), _BATCH):
        for user in await _users(http, url, headers, [("login", login) for login in wanted[i : i + _BATCH]]):
            found[normalize_login(str(user.get("login", "")))] = str(user.get("id", ""))
    channels = {login: found[login] for login in wanted if found.get(login)}
    missing = tuple(login for login in wanted if login not in channels)
    return Resolved(str(me[0].get("id", "")), str(me[0].get("login", "")), channels, missing)
