"""YouTube live and replay chat through chat-downloader (the optional ``youtube`` extra).

chat-downloader (PyPI ``chat-downloader``, unmaintained since 2023) does the YouTube side: page
scraping, innertube continuation polling, and turning actions into item dicts (documented in its
``docs/items.rst``). This module only converts those items to :class:`FileMessage` and pumps its
blocking iterator from a worker thread into the event loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from typing import Any

from streamscope.capture.progress import Progress
from streamscope.capture.urls import Target
from streamscope.settings import Settings
from streamscope.sinks.files import FileMessage
from streamscope.sinks.files.schema import Author

ChatSource = Callable[[str], Iterable[Mapping[str, Any]]]
"""``url -> items``: what :func:`chat_downloader_items` is; tests pass recorded items instead."""

#: chat-downloader message types renamed to the file schema's names; others pass through as named.
TYPES = {"deleted_message": "delete_message", "ban_user": "ban"}
#: Items that are not chat lines: ticker copies of paid messages (they also arrive as chat items)
#: and the placeholders YouTube later replaces.
SKIPPED_ACTIONS = {"add_live_chat_ticker_item"}
SKIPPED_TYPES = {"placeholder_item"}

INSTALL_HINT = "YouTube capture needs chat-downloader: pip install 'streamscope[youtube]'"


class MissingExtra(RuntimeError):
    """An optional dependency a runner needs is not installed (message says what to install)."""


def item_message(item: Mapping[str, Any], channel: str, received_at: int) -> FileMessage | None:
    """A chat-downloader YouTube item as a :class:`FileMessage`; None for items that are no chat line.

    * ``timestamp`` is chat-downloader's microseconds → milliseconds; deletions and bans carry none,
      so they get ``received_at``.
    * ``author``: YouTube ids are channel ids (``UC...``), not numbers, so ``author.id`` is null and
      ``author.name`` holds the channel id; ``display_name`` is the visible name; badges are
      ``{name: title, version: ""}``.
    * Paid messages and stickers: ``system_message`` is the amount as shown (``$9.99``);
      memberships: the header (``New member``).
    * ``deleted_message`` → ``delete_message`` with ``target.message_id``; ``ban_user`` → ``ban``
      with ``target.name`` the banned channel id. Their ``message`` is "" (YouTube sends the
      placeholder "[message deleted]", not the text) and, having no id of their own, their
      ``message_id`` is a UUID derived from the item's content (the same item gives the same id).
    * ``emotes`` are located in the text by their name (chat-downloader writes an emoji's shortcut
      into the message text in its place).
    """
    action = item.get("action_type")
    kind = str(item.get("message_type") or "text_message")
    if action in SKIPPED_ACTIONS or kind in SKIPPED_TYPES:
        return None
    message_type = TYPES.get(kind, kind)
    raw_author = item.get("author") or {}
    target: dict[str, Any] | None = None
    author = Author(
        None,
        str(raw_author.get("id") or ""),
        str(raw_author.get("name") or ""),
        [{"name": str(b.get("title") or ""), "version": ""} for b in raw_author.get("badges") or []],
        None,
    )
    if message_type == "delete_message":
        target = {"id": None, "name": "", "message_id": item.get("target_message_id")}
    elif message_type == "ban":
        target = {"id": None, "name": author.name, "message_id": None}
        author = Author(None, "", "")
    # YouTube's "[message deleted]" is a placeholder, not the deleted text (which it does not send).
    text = "" if target is not None else str(item.get("message") or "")
    money = item.get("money") or {}
    system = money.get("text") or item.get("header_secondary_text") or item.get("header_primary_text")
    timestamp = item.get("timestamp")
    message_id = item.get("message_id") or _derived_id(item)
    return FileMessage(
        message_id=str(message_id),
        message=text,
        timestamp=int(timestamp) // 1000 if timestamp is not None else received_at,
        message_type=message_type,
        channel=channel,
        channel_id=None,
        author=author,
        emotes=_emotes(text, item.get("emotes") or []),
        system_message=str(system) if system else None,
        target=target,
    )


def _derived_id(item: Mapping[str, Any]) -> str:
    """A stable id for an item YouTube gives none (deletions, bans): a UUID of its content."""
    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, "youtube-item:" + json.dumps(item, sort_keys=True, default=str))
    )


def _emotes(text: str, emotes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for emote in emotes:
        name = str(emote.get("name") or "")
        at = text.find(name) if name else -1
        while at >= 0:
            found.append({"id": str(emote.get("id")), "start": at, "end": at + len(name) - 1, "text": name})
            at = text.find(name, at + len(name))
    return sorted(found, key=lambda e: e["start"])


def chat_downloader_items(url: str) -> Iterable[Mapping[str, Any]]:
    """chat-downloader's items for ``url`` (blocking iterator); :class:`MissingExtra` without it."""
    try:
        from chat_downloader import ChatDownloader  # type: ignore[import-untyped]
    except ImportError:
        raise MissingExtra(INSTALL_HINT) from None
    return ChatDownloader().get_chat(url)  # type: ignore[no-any-return]


_END = object()


async def youtube(
    target: Target, settings: Settings, progress: Progress, source: ChatSource | None = None
) -> AsyncGenerator[list[FileMessage], None]:
    """Batches of a YouTube video's chat, as chat-downloader yields it; ends when it does.

    chat-downloader blocks on the network, so it runs on a daemon thread that hands items to this
    loop; closing the generator tells the thread to stop at its next item (a live chat that stays
    silent keeps the thread waiting in chat-downloader until its next poll, then it ends).
    """
    # chat-downloader reads YouTube's own URLs and retries on its own; nothing to configure or report yet.
    del settings, progress
    get_items = source or chat_downloader_items
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    stop = threading.Event()

    def hand(value: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, value)
        except RuntimeError:  # the loop is gone: the capture ended while this thread waited
            stop.set()

    def pump() -> None:
        try:
            for item in get_items(target.url):
                if stop.is_set():
                    return
                hand(item)
        except BaseException as exc:  # handed to the loop and raised there
            hand(exc)
        finally:
            hand(_END)

    threading.Thread(target=pump, name=f"youtube-{target.id}", daemon=True).start()
    try:
        while True:
            values = [await queue.get()]
            while not queue.empty():
                values.append(queue.get_nowait())
            batch: list[FileMessage] = []
            for value in values:
                if value is _END or isinstance(value, BaseException):
                    if batch:
                        yield batch
                    if isinstance(value, BaseException):
                        raise value
                    return
                message = item_message(value, target.id, int(time.time() * 1000))  # type: ignore[arg-type]
                if message is not None:
                    batch.append(message)
            if batch:
                yield batch
    finally:
        stop.set()
