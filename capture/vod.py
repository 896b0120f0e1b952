"""Twitch VOD and clip chat replay from Twitch's GQL endpoint (``settings.twitch_gql_url``).

The requests are the ones Twitch's web player makes, as TwitchDownloader
(``TwitchDownloaderCore/ChatDownloader.cs``) and chat-downloader (``sites/twitch.py``) send them:
a JSON array of operations POSTed with a ``Client-ID`` header, each operation a persisted query
``{"operationName", "variables", "extensions": {"persistedQuery": {"version": 1, "sha256Hash"}}}``.

* ``VideoMetadata {channelLogin: "", videoID}`` → ``data.video{id, title, lengthSeconds, owner{id,
  login, displayName}}`` (``video`` is null for a deleted or expired VOD).
* ``VideoCommentsByOffsetOrCursor``: the first page by ``{videoID, contentOffsetSeconds}``, every
  next one by ``{videoID, cursor}`` with the ``cursor`` of the previous page's last edge, while
  ``comments.pageInfo.hasNextPage``. Edges are ``{cursor, node{id, commenter{id, login,
  displayName}|null, contentOffsetSeconds, createdAt, message{fragments[{text, emote{emoteID,
  from}|null}], userBadges[{setID, version}], userColor}}}``.
* A clip is resolved with a plain GraphQL query (``{query: "{ clip(slug: ...) {...} }"}``, one
  object, not an array) to its VOD and offset; its chat is the VOD's comments from
  ``videoOffsetSeconds`` to ``videoOffsetSeconds + durationSeconds``.

A request that does not reach Twitch (refused, timed out, HTTP 5xx or 429) is retried with backoff
for up to ``settings.capture_connect_timeout_s``, then the capture fails with
:class:`~streamscope.capture.progress.SourceUnreachable`; the requests are reads, so a retry is harmless.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

import httpx

from streamscope.capture.progress import Progress, describe, unreachable
from streamscope.capture.urls import Target
from streamscope.settings import Settings
from streamscope.sinks.files import FileMessage
from streamscope.sinks.files.schema import Author
from streamscope.timeutil import iso_ms

#: sha256 of the persisted queries (the hashes Twitch's web client registers).
HASHES = {
    "VideoMetadata": "226edb3e692509f727fd56821f5653c05740242c82b0388883e0c0e75dcbf687",
    "VideoCommentsByOffsetOrCursor": "b70a3591ff0f4e0313d126c6a1502d79a1c02baebb288227c582044aa76adf6a",
}
#: Backoff between retries of a request that did not reach Twitch (doubling from the first).
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 10.0
CLIP_QUERY = (
    '{ clip(slug: "%s") { broadcaster { id login } video { id createdAt } createdAt durationSeconds '
    "videoOffsetSeconds title url slug } }"
)


#: Twitch's global cheermote prefixes (TwitchDownloader's list, plus PogChamp): a word like ``Cheer100``
#: in a replayed message is a cheer of 100 bits. GQL does not say, so this is how bits are known.
_CHEER = re.compile(
    r"(?<!\S)(?:Cheer|BibleThump|cheerwhal|Corgo|Scoops|uni|ShowLove|Party|SeemsGood|Pride|Kappa|FrankerZ|"
    r"HeyGuys|DansGame|EleGiggle|TriHard|Kreygasm|4Head|SwiftRage|NotLikeThis|FailFish|VoHiYo|PJSalt|"
    r"MrDestructoid|bday|RIPCheer|Shamrock|DoodleCheer|BitBoss|Streamlabs|Muxy|HolidayCheer|Goal|Anon|"
    r"PogChamp|Charity)([1-9][0-9]*)(?!\S)",
    re.IGNORECASE,
)


def cheered_bits(text: str) -> int:
    """Bits cheered in ``text``: the sum of its cheermote words (Twitch sums every one)."""
    return sum(int(m.group(1)) for m in _CHEER.finditer(text))


class ReplayUnavailable(Exception):
    """The VOD or clip has no chat replay (deleted, expired, or Twitch answered an error)."""


def operation(name: str, variables: Mapping[str, Any]) -> dict[str, Any]:
    """One persisted-query operation as Twitch's web client sends it."""
    return {
        "operationName": name,
        "variables": dict(variables),
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": HASHES[name]}},
    }


def comment_message(node: Mapping[str, Any], channel: str, channel_id: int | None) -> FileMessage:
    """A ``VideoComment`` node as a :class:`FileMessage` (a ``text_message``).

    The text is the concatenation of the fragments; each fragment with an ``emote`` is one emote
    whose ``start``/``end`` are its inclusive code-point offsets in that text (what the IRC
    ``emotes`` tag would say). A null ``commenter`` (deleted account) gives an author with no id and
    empty names. GQL says nothing of /me, so ``is_action`` is false; ``bits`` is summed from the
    cheermote words of the text (:func:`cheered_bits`), as TwitchDownloader estimates them.
    """
    message = node.get("message") or {}
    parts: list[str] = []
    emotes: list[dict[str, Any]] = []
    at = 0
    for fragment in message.get("fragments") or []:
        text = fragment.get("text") or ""
        emote = fragment.get("emote")
        if emote and text:
            emotes.append(
                {"id": str(emote.get("emoteID")), "start": at, "end": at + len(text) - 1, "text": text}
            )
        parts.append(text)
        at += len(text)
    commenter = node.get("commenter") or {}
    badges = [{"name": b["setID"], "version": str(b["version"])} for b in message.get("userBadges") or []]
    author_id = commenter.get("id")
    text = "".join(parts)
    return FileMessage(
        message_id=str(node["id"]),
        message=text,
        timestamp=iso_ms(node["createdAt"]),
        message_type="text_message",
        channel=channel,
        channel_id=channel_id,
        author=Author(
            int(author_id) if author_id and str(author_id).isascii() and str(author_id).isdigit() else None,
            commenter.get("login") or "",
            commenter.get("displayName") or "",
            badges,
            message.get("userColor") or None,
        ),
        emotes=emotes,
        bits=cheered_bits(text),
    )


class GqlClient:
    """Posts operations to Twitch GQL; raises :class:`ReplayUnavailable` for GraphQL errors and
    HTTP 4xx answers other than 429, and :class:`~streamscope.capture.progress.SourceUnreachable`
    when Twitch could not be reached within the connect timeout (each failed attempt is noted in
    ``progress``)."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient, progress: Progress) -> None:
        self.url = settings.twitch_gql_url
        self.client_id = settings.twitch_gql_client_id
        self.retry_for_s = settings.capture_connect_timeout_s
        self.http = http
        self.progress = progress

    async def post(self, body: Any) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry_for_s
        delay, attempts, final = RETRY_FIRST_S, 0, False
        while True:
            try:
                res = await self.http.post(self.url, json=body, headers={"Client-ID": self.client_id})
            except httpx.TransportError as exc:
                error = describe(exc)
            else:
                if res.status_code == 200:
                    return res.json()
                if res.status_code < 500 and res.status_code != 429:
                    raise ReplayUnavailable(f"Twitch GQL answered HTTP {res.status_code}")
                error = f"Twitch GQL answered HTTP {res.status_code}"
            attempts += 1
            self.progress.source_failed(error)
            left = deadline - loop.time()
            if final or left <= 0:
                raise unreachable(f"Twitch GQL at {self.url}", attempts, error, self.retry_for_s)
            final = delay >= left  # the wait is cut to the deadline: one last attempt there
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, RETRY_MAX_S)

    async def run(self, name: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The ``data`` of one persisted operation."""
        answer = await self.post([operation(name, variables)])
        first = answer[0] if isinstance(answer, list) and answer else {}
        if first.get("errors"):
            raise ReplayUnavailable(f"Twitch GQL {name} failed: {first['errors'][0].get('message')}")
        data: dict[str, Any] = first.get("data") or {}
        return data


async def comments(
    gql: GqlClient, video_id: str, start_s: int, end_s: float | None
) -> AsyncIterator[list[dict[str, Any]]]:
    """Pages of comment nodes of ``video_id`` from ``start_s`` up to ``end_s`` (None: to the end)."""
    variables: dict[str, Any] = {"videoID": video_id, "contentOffsetSeconds": start_s}
    while True:
        data = await gql.run("VideoCommentsByOffsetOrCursor", variables)
        video = data.get("video")
        if not video:
            raise ReplayUnavailable(f"video {video_id} has no chat replay (deleted or expired)")
        connection = video.get("comments") or {}
        edges = connection.get("edges") or []
        nodes = [e["node"] for e in edges if e.get("node")]
        # The first page by offset may start a little before it; a clip ends inside some page.
        past_end = end_s is not None and any(_offset(n) > end_s for n in nodes)
        nodes = [n for n in nodes if _offset(n) >= start_s and (end_s is None or _offset(n) <= end_s)]
        if nodes:
            yield nodes
        if past_end:
            return
        if not edges or not (connection.get("pageInfo") or {}).get("hasNextPage"):
            return
        variables = {"videoID": video_id, "cursor": edges[-1]["cursor"]}


async def twitch_vod(
    target: Target, settings: Settings, progress: Progress
) -> AsyncGenerator[list[FileMessage], None]:
    """Batches (one per GQL page) of a VOD's replay chat, in order; ends after the last page."""
    async with _http(settings) as http:
        gql = GqlClient(settings, http, progress)
        video = (await gql.run("VideoMetadata", {"channelLogin": "", "videoID": target.id})).get("video")
        if not video:
            raise ReplayUnavailable(f"Twitch has no video {target.id} (deleted, expired or never existed)")
        owner = video.get("owner") or {}
        channel, channel_id = owner.get("login") or "", _int(owner.get("id"))
        async for nodes in comments(gql, target.id, 0, None):
            yield [comment_message(n, channel, channel_id) for n in nodes]


async def twitch_clip(
    target: Target, settings: Settings, progress: Progress
) -> AsyncGenerator[list[FileMessage], None]:
    """Batches of the replay chat shown during a clip (its VOD's comments over the clip's span)."""
    async with _http(settings) as http:
        gql = GqlClient(settings, http, progress)
        answer = await gql.post({"query": CLIP_QUERY % target.id})
        clip = (answer.get("data") or {}).get("clip") if isinstance(answer, dict) else None
        if not clip:
            raise ReplayUnavailable(f"Twitch has no clip {target.id}")
        video, offset = clip.get("video"), clip.get("videoOffsetSeconds")
        if not video or offset is None:
            raise ReplayUnavailable(f"the VOD of clip {target.id} expired; its chat replay is gone")
        broadcaster = clip.get("broadcaster") or {}
        channel, channel_id = broadcaster.get("login") or "", _int(broadcaster.get("id"))
        start = int(offset)
        end = start + float(clip.get("durationSeconds") or 0)
        async for nodes in comments(gql, str(video["id"]), start, end):
            yield [comment_message(n, channel, channel_id) for n in nodes]


def _http(settings: Settings) -> httpx.AsyncClient:
    # A connect that hangs must not outlast the time the capture may spend reaching Twitch at all.
    connect_s = min(10.0, settings.capture_connect_timeout_s)
    return httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=connect_s))


def _offset(node: Mapping[str, Any]) -> float:
    return float(node.get("contentOffsetSeconds") or 0)


def _int(value: Any) -> int | None:
    return int(value) if value is not None and str(value).isascii() and str(value).isdigit() else None
