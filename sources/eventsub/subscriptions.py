"""Which EventSub subscriptions a channel gets, and how they are created (Helix
``POST /eventsub/subscriptions`` with the session's id as websocket transport).

The subscription definitions (type, version, condition) are twitchio 3's own payload classes
(:mod:`twitchio.eventsub`), so a version bump there is picked up here. Requests go to
``settings.twitch_helix_url`` with ``Client-Id`` and the user token as ``Authorization: Bearer``;
neither is ever logged or put in an exception message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import httpx
from twitchio.eventsub import (
    ChannelUpdateSubscription,
    ChatClearSubscription,
    ChatClearUserMessagesSubscription,
    ChatMessageDeleteSubscription,
    ChatMessageSubscription,
    ChatNotificationSubscription,
    StreamOfflineSubscription,
    StreamOnlineSubscription,
    SubscriptionPayload,
)

log = logging.getLogger(__name__)

__all__ = ["CHAT_SUBSCRIPTIONS", "STREAM_SUBSCRIPTIONS", "SubscribeResult", "create", "payloads_for"]

#: Need only the broadcaster's id (no scope): stream start/end, title and game changes.
STREAM_SUBSCRIPTIONS: tuple[type[SubscriptionPayload], ...] = (
    StreamOnlineSubscription,
    StreamOfflineSubscription,
    ChannelUpdateSubscription,
)
#: Need the reading user's id and the ``user:read:chat`` scope on its token.
CHAT_SUBSCRIPTIONS: tuple[type[SubscriptionPayload], ...] = (
    ChatMessageSubscription,
    ChatNotificationSubscription,
    ChatMessageDeleteSubscription,
    ChatClearUserMessagesSubscription,
    ChatClearSubscription,
)


def payloads_for(broadcaster_id: str, user_id: str, *, chat: bool = True) -> list[SubscriptionPayload]:
    """The subscriptions for one channel: the stream ones, plus the chat ones when ``chat``."""
    out: list[SubscriptionPayload] = [cls(broadcaster_user_id=broadcaster_id) for cls in STREAM_SUBSCRIPTIONS]
    if chat:
        out += [cls(broadcaster_user_id=broadcaster_id, user_id=user_id) for cls in CHAT_SUBSCRIPTIONS]
    return out


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    """What became of one subscription request.

    ``status`` is the HTTP status (0 when the request failed before an answer); ``created`` is
    True for 202, and also for 409 (Twitch already has this subscription for the session).
    ``error`` is Twitch's ``message`` (or the transport error), never the request headers.
    """

    type: str
    version: str
    condition: dict[str, str]
    status: int
    created: bool
    subscription_id: str | None
    error: str | None


async def create(
    client: httpx.AsyncClient,
    helix_url: str,
    session_id: str,
    payloads: Iterable[SubscriptionPayload],
    *,
    client_id: str,
    token: str,
) -> list[SubscribeResult]:
    """Create each subscription for websocket ``session_id``, in order; one failure never stops the rest."""
    url = helix_url.rstrip("/") + "/eventsub/subscriptions"
    headers = {"Client-Id": client_id, "Authorization": f"Bearer {token}"}
    results: list[SubscribeResult] = []
    for payload in payloads:
        kind, version = str(payload.type), str(payload.version)
        condition = {k: str(v) for k, v in payload.condition.items()}
        body = {
            "type": kind,
            "version": version,
            "condition": condition,
            "transport": {"method": "websocket", "session_id": session_id},
        }
        try:
            resp = await client.post(url, json=body, headers=headers)
        except httpx.HTTPError as e:
            results.append(SubscribeResult(kind, version, condition, 0, False, None, type(e).__name__))
            continue
        sub_id = error = None
        try:
            answer = resp.json()
        except ValueError:
            answer = {}
        if resp.status_code == 202:
            data = answer.get("data") if isinstance(answer, dict) else None
            # Twitch answers {"data": [sub]}; twitch-cli's mock answers {"data": sub}.
            item = data[0] if isinstance(data, list) and data else data
            if isinstance(item, dict):
                sub_id = str(item.get("id") or "") or None
        elif isinstance(answer, dict):
            error = str(answer.get("message") or answer.get("error") or "")[:200] or None
        created = resp.status_code in (202, 409)
        if not created:
            log.warning(
                "EventSub subscription %s v%s failed: HTTP %s %s", kind, version, resp.status_code, error
            )
        results.append(SubscribeResult(kind, version, condition, resp.status_code, created, sub_id, error))
    return results
