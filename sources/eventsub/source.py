"""Authenticated capture over Twitch EventSub WebSockets: every notification frame, raw.

twitchio 3 is used for what it offers publicly that fits a capture-only source: its subscription
definitions (:mod:`twitchio.eventsub` payload classes give each type's version and condition, see
:mod:`streamscope.sources.eventsub.subscriptions`). Its ``Client``/``eventsub.websockets.Websocket`` are not
used for the socket because (1) they hand out parsed model objects and never the frame text, while
sources publish exactly what Twitch sent; (2) the ``Client`` needs a refresh token and validates it
against ``id.twitch.tv/oauth2/validate``, which Twitch's EventSub mock (``twitch-cli event
websocket``) does not serve; (3) their endpoints are hard-coded (``twitchio.http.Route.BASE``,
``twitchio.eventsub.websockets.WSS``) and could only be redirected by patching process-wide
globals. The session protocol below follows Twitch's EventSub WebSocket reference instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from streamscope.records import RawEvent
from streamscope.twitch.eventsub.frames import EventSubParseError, Frame, Session, parse_frame
from streamscope.twitch.logins import normalize_login

from . import subscriptions, users

log = logging.getLogger(__name__)

__all__ = ["EventSubSource", "EventSubStats"]

#: Message ids of the most recent notifications remembered to skip re-deliveries; a hand-over's
#: overlap holds a few seconds of notifications, far fewer than this.
_RECENT_IDS = 4096


@dataclass(frozen=True, slots=True)
class EventSubStats:
    """A snapshot of a source's progress (for progress bars, ``/metrics`` and tests)."""

    session_id: str | None
    """The session receiving notifications now (None between sessions)."""
    sessions: int
    """Welcome frames received (first session, reconnects and new sessions)."""
    reconnects: int
    """``session_reconnect`` hand-overs completed (subscriptions kept by Twitch)."""
    resubscribes: int
    """New sessions after a lost socket, on which every subscription was created again."""
    subscriptions: int
    """Subscriptions Twitch accepted (202 or 409) on the newest session that needed them."""
    subscribe_errors: int
    """Subscription requests Twitch refused, over the whole run."""
    notifications: int
    """Notification frames published."""
    keepalives: int
    revocations: int
    unparsable: int
    """Frames that were not EventSub frames (published with ``kind=''`` for the dead letters)."""
    duplicates: int
    """Notifications not published again: their message_id was among the last ones published."""


class _Lost(Exception):
    """The socket is gone or silent; the next session must subscribe again."""


class EventSubSource:
    """Reads Twitch EventSub over WebSocket with a user token and publishes every notification.

    Contract:

    * ``channels`` maps broadcaster login -> numeric id; ``user_id`` is the token's user (the chat
      types need it, and its token needs ``user:read:chat``). Per channel it subscribes to
      stream.online, stream.offline, channel.update and (when ``chat``) channel.chat.message,
      .notification, .message_delete, .clear_user_messages and .clear.
    * Everything it connects to is passed in (the app layer takes it from
      :class:`~streamscope.settings.Settings`: ``twitch_client_id``, ``twitch_user_token``,
      ``twitch_eventsub_url``, ``twitch_helix_url``, ``eventsub_chat``, ``eventsub_keepalive_s``).
      ``keepalive_s`` None leaves Twitch's default (10 s). A missing client id or token is a
      :class:`ValueError`.
    * Each notification frame is published as ``RawEvent(channel=broadcaster login,
      kind=subscription type, payload=the frame text exactly as received, received_at=epoch ms,
      source=source_name)``. A frame that is not valid EventSub JSON is published with
      ``kind=''`` so the pipeline dead-letters it; welcome/keepalive/reconnect/revocation frames
      are handled here and only counted.
    * ``session_reconnect``: connects to its ``reconnect_url`` while still reading the old socket
      (Twitch keeps sending there until the new one is welcomed), then closes the old one and
      publishes every frame it delivered until its close handshake ended (what Twitch wrote to it
      just before the welcome can arrive after it), before anything of the new session;
      subscriptions carry over, none are re-created. A lost or silent socket (nothing within the
      keepalive timeout + 5 s) opens a fresh session on ``url`` and creates every subscription again,
      with exponential backoff between failed connects. Notifications sent while no socket was
      open are lost (Twitch does not replay them).
    * Each notification is published once: one whose message_id is among the last 4,096
      published (Twitch may deliver one twice, e.g. on both sockets of a hand-over) is only
      counted in ``duplicates``; an older re-delivery keeps its message_id, which the pipeline
      dedups on.
    * Order: frames of one socket are published in receive order, an old socket's before its
      successor's. ``publish`` runs in a worker thread and may block (bus backpressure), which
      pauses reading. If it raises, ``run`` closes the socket and re-raises. ``await run()``
      returns after ``await stop()``. A source runs once.
    * The token goes only into the ``Authorization`` header; it is never logged.
    """

    def __init__(
        self,
        channels: Mapping[str, str | int],
        publish: Callable[[list[RawEvent]], None],
        *,
        user_id: str | int,
        client_id: str | None,
        token: SecretStr | str | None,
        url: str,
        helix_url: str,
        chat: bool = True,
        keepalive_s: int | None = None,
        source_name: str = "eventsub",
        welcome_timeout_s: float = 10.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 60.0,
    ) -> None:
        if not client_id or token is None:
            raise ValueError("EventSub needs STREAMSCOPE_TWITCH_CLIENT_ID and STREAMSCOPE_TWITCH_USER_TOKEN")
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        self._client_id = client_id
        self._channels = {normalize_login(login): str(cid) for login, cid in channels.items()}
        self._logins = {cid: login for login, cid in self._channels.items()}
        self._user_id = str(user_id)
        self._publish = publish
        self._url = url
        if keepalive_s is not None:
            sep = "&" if urlsplit(self._url).query else "?"
            self._url += sep + urlencode({"keepalive_timeout_seconds": keepalive_s})
        self._helix_url = helix_url
        self._chat = chat
        self._source = source_name
        self._welcome_timeout_s = welcome_timeout_s
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._stopping = asyncio.Event()
        self._sockets: set[ClientConnection] = set()
        self._session: Session | None = None
        self._counts = dict.fromkeys(
            ("sessions", "reconnects", "resubscribes", "subscriptions", "subscribe_errors", "notifications",
             "keepalives", "revocations", "unparsable", "duplicates"), 0,
        )  # fmt: skip
        self._recent: dict[str, None] = {}  # insertion-ordered: the oldest id is dropped first
        self.last_subscribe: list[subscriptions.SubscribeResult] = []

    @classmethod
    async def for_logins(
        cls,
        logins: Iterable[str],
        publish: Callable[[list[RawEvent]], None],
        *,
        client_id: str | None,
        token: SecretStr | str | None,
        helix_url: str,
        **kwargs: Any,
    ) -> tuple[EventSubSource, users.Resolved]:
        """A source for channel logins: their ids and the reading user come from Helix ``GET /users``.

        Takes the constructor's keyword arguments except ``user_id``. Raises
        :class:`~streamscope.sources.eventsub.users.HelixUsersError` when Helix refuses the token.
        Logins Twitch does not know are left out and reported in ``Resolved.missing``.
        """
        if not client_id or token is None:
            raise ValueError("EventSub needs STREAMSCOPE_TWITCH_CLIENT_ID and STREAMSCOPE_TWITCH_USER_TOKEN")
        secret = token.get_secret_value() if isinstance(token, SecretStr) else str(token)
        async with httpx.AsyncClient(timeout=10.0) as http:
            found = await users.resolve(http, helix_url, client_id=client_id, token=secret, logins=logins)
        source = cls(
            found.channels,
            publish,
            user_id=found.user_id,
            client_id=client_id,
            token=token,
            helix_url=helix_url,
            **kwargs,
        )
        return source, found

    def stats(self) -> EventSubStats:
        return EventSubStats(session_id=self._session.id if self._session else None, **self._counts)

    async def stop(self) -> None:
        """Ask :meth:`run` to return: closes the sockets; nothing received is left unpublished."""
        self._stopping.set()
        for ws in list(self._sockets):
            await ws.close()

    async def run(self) -> None:
        """Capture until :meth:`stop` (see the class docstring)."""
        delay = self._backoff[0]
        first = True
        async with httpx.AsyncClient(timeout=10.0) as http:
            while not self._stopping.is_set():
                try:
                    ws, welcome = await self._open(self._url)
                except _Lost as e:
                    log.warning("EventSub connect failed (%s); retrying in %.1fs", e, delay)
                    await self._sleep(delay)
                    delay = min(delay * 2, self._backoff[1])
                    continue
                delay = self._backoff[0]
                try:
                    await self._subscribe(http, welcome.id)
                    if not first:
                        self._counts["resubscribes"] += 1
                    first = False
                    await self._read(ws, welcome)
                except _Lost as e:
                    if not self._stopping.is_set():
                        log.warning("EventSub session lost (%s); opening a new session", e)
                finally:
                    self._session = None
                    await self._close(ws)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _close(self, ws: ClientConnection) -> None:
        self._sockets.discard(ws)
        await ws.close()

    async def _open(self, url: str) -> tuple[ClientConnection, Session]:
        """Connect and wait for ``session_welcome``; raises :class:`_Lost` on any failure."""
        try:
            ws = await connect(url, open_timeout=self._welcome_timeout_s, max_size=2**22)
        except (OSError, TimeoutError, InvalidURI, InvalidHandshake) as e:
            raise _Lost(f"{type(e).__name__}: {e}".splitlines()[0]) from None
        self._sockets.add(ws)
        try:
            async with asyncio.timeout(self._welcome_timeout_s):
                text = await ws.recv()
            frame = parse_frame(text)
            if frame.message_type != "session_welcome" or frame.session is None:
                raise EventSubParseError(f"expected session_welcome, got {frame.message_type}")
        except (ConnectionClosed, TimeoutError, EventSubParseError) as e:
            await self._close(ws)
            raise _Lost(f"no welcome: {type(e).__name__}") from None
        self._counts["sessions"] += 1
        log.info("EventSub session %s welcomed", frame.session.id)
        return ws, frame.session

    async def _subscribe(self, http: httpx.AsyncClient, session_id: str) -> None:
        payloads = []
        for cid in self._channels.values():
            payloads += subscriptions.payloads_for(cid, self._user_id, chat=self._chat)
        results = await subscriptions.create(
            http, self._helix_url, session_id, payloads, client_id=self._client_id,
            token=self._token.get_secret_value(),
        )  # fmt: skip
        self.last_subscribe = results
        self._counts["subscriptions"] = sum(r.created for r in results)
        self._counts["subscribe_errors"] += sum(not r.created for r in results)

    async def _read(self, ws: ClientConnection, session: Session) -> None:
        """Read one session (following reconnects) until stop or loss."""
        self._session = session
        while not self._stopping.is_set():
            timeout = (session.keepalive_timeout_s or 10) + 5
            try:
                async with asyncio.timeout(timeout):
                    text = await ws.recv()
            except TimeoutError:
                raise _Lost(f"nothing received for {timeout}s") from None
            except ConnectionClosed as e:
                if self._stopping.is_set():
                    return
                raise _Lost(f"closed with code {e.rcvd.code if e.rcvd else 'none'}") from None
            frame = await self._handle(text)
            if frame is not None and frame.message_type == "session_reconnect" and frame.session is not None:
                url = frame.session.reconnect_url
                if not url:
                    raise _Lost("session_reconnect without reconnect_url")
                ws, session = await self._hand_over(ws, url)
                self._session = session

    async def _hand_over(self, old: ClientConnection, url: str) -> tuple[ClientConnection, Session]:
        """Welcome on ``url`` while the old socket keeps being read; then close the old one,
        publishing every frame it delivers until the close handshake ends."""
        reader = asyncio.create_task(self._drain(old))
        try:
            ws, session = await self._open(url)
        except BaseException:
            await self._finish(old, reader)
            raise
        try:
            await self._finish(old, reader)
        except BaseException:
            await self._close(ws)
            raise
        self._counts["reconnects"] += 1
        log.info("EventSub session moved to %s after session_reconnect", session.id)
        return ws, session

    async def _drain(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await self._handle(await ws.recv())

    async def _finish(self, old: ClientConnection, reader: asyncio.Task[None]) -> None:
        # Twitch writes nothing to the old socket once the new one is welcomed, but what it wrote
        # just before can still be in flight: close the old socket and let the reader publish all
        # that arrived until the close handshake ended (recv returns frames buffered before a close).
        try:
            await self._close(old)
        finally:
            await reader

    async def _handle(self, text: str | bytes) -> Frame | None:
        """Publish a notification, count the rest; returns the parsed frame (None if unparsable)."""
        received_at = time.time_ns() // 1_000_000
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        try:
            frame = parse_frame(text)
        except EventSubParseError:
            self._counts["unparsable"] += 1
            await self._emit(RawEvent("", "", text, received_at, self._source))
            return None
        if frame.message_type == "notification":
            if frame.message_id in self._recent:
                self._counts["duplicates"] += 1
                return frame
            self._recent[frame.message_id] = None
            if len(self._recent) > _RECENT_IDS:
                del self._recent[next(iter(self._recent))]
            await self._emit(
                RawEvent(self._channel_of(frame), frame.subscription_type, text, received_at, self._source)
            )
            self._counts["notifications"] += 1
        elif frame.message_type == "session_keepalive":
            self._counts["keepalives"] += 1
        elif frame.message_type == "revocation":
            self._counts["revocations"] += 1
            status = (frame.subscription or {}).get("status")
            log.warning("EventSub subscription %s revoked: %s", frame.subscription_type, status)
        return frame

    def _channel_of(self, frame: Frame) -> str:
        condition = (frame.subscription or {}).get("condition")
        event = frame.event or {}
        for cid in ((condition or {}).get("broadcaster_user_id"), event.get("broadcaster_user_id")):
            if isinstance(cid, str) and cid in self._logins:
                return self._logins[cid]
        login = event.get("broadcaster_user_login")
        return normalize_login(login) if isinstance(login, str) else ""

    async def _emit(self, event: RawEvent) -> None:
        await asyncio.to_thread(self._publish, [event])
