"""Typed rows of the warehouse tables, as the writers insert them.

Each row type is a NamedTuple whose fields are the table's columns in insert order (its
``_fields`` is the column list given to clickhouse-connect), so rows cross packages by name and
still insert as plain tuples. Values follow :mod:`streamscope.twitch.irc.rows`: DateTime64(3) as int
epoch ms, UUID as ``str``, Map as ``dict``.
"""

from __future__ import annotations

from typing import NamedTuple


class DeadLetterRow(NamedTuple):
    """A record that could not be decoded, parsed, enriched or inserted, with why (``dead_letters``).

    ``stage`` says where it failed (``decode``, ``parse``, ``streams``, ``insert``); ``raw`` is the
    payload as received, so it can be re-processed after a fix.
    """

    received_at: int
    source: str
    channel: str
    stage: str
    reason: str
    raw: str


DEAD_LETTER_COLUMNS: tuple[str, ...] = DeadLetterRow._fields


class MessageRow(NamedTuple):
    """A ``chat_messages`` row. Writers build it from a raw line (:func:`streamscope.twitch.irc.rows
    .classify`); the read side selects it back in this order (:data:`streamscope.query.stored
    .MESSAGE_SELECT`), with the same value types.

    ``text`` is without the ``/me`` wrapper (``is_action``); ``tags`` holds the tags that have no
    typed column, with their *raw escaped* values; ``tag_layout`` and ``raw_fallback`` rebuild the
    raw line (:func:`streamscope.twitch.irc.rows.rebuild_message_line`).
    """

    channel_id: int
    channel: str
    sent_at: int
    message_id: str
    user_id: int
    user_login: str
    display_name: str
    text: str
    is_action: bool
    bits: int
    color: str
    badges: str
    badge_info: str
    emotes: str
    tag_layout: str
    tags: dict[str, str]
    raw_fallback: str
    received_at: int
    source: str


MESSAGE_COLUMNS: tuple[str, ...] = MessageRow._fields


class EventRow(NamedTuple):
    """A ``chat_events`` row: any IRC line but PRIVMSG that is worth keeping (USERNOTICE, CLEARCHAT,
    CLEARMSG, NOTICE, ROOMSTATE, ...), with its raw line; ``tags`` values are *unescaped*.

    ``kind`` is the USERNOTICE msg-id, ``timeout``/``ban``/``clear`` (CLEARCHAT), ``delete``
    (CLEARMSG), else the command lowercased; ``user_*`` is who acted, ``target_*`` on whom.
    """

    channel_id: int
    channel: str
    at: int
    event_id: str
    command: str
    kind: str
    user_id: int
    user_login: str
    display_name: str
    target_user_id: int
    target_login: str
    target_message_id: str
    duration_s: int
    text: str
    system_message: str
    tags: dict[str, str]
    raw: str
    received_at: int
    source: str


EVENT_COLUMNS: tuple[str, ...] = EventRow._fields


class ChannelRow(NamedTuple):
    """A channel seen under a login between two times (``channels``)."""

    channel_id: int
    login: str
    first_seen: int
    last_seen: int


CHANNEL_COLUMNS: tuple[str, ...] = ChannelRow._fields


class ViewerSampleRow(NamedTuple):
    """One Helix ``/streams`` observation of a live channel (``viewer_samples``)."""

    channel_id: int
    channel: str
    sampled_at: int
    viewers: int
    stream_id: str
    started_at: int
    game_id: str
    game: str
    title: str
    language: str
    source: str


SAMPLE_COLUMNS: tuple[str, ...] = ViewerSampleRow._fields

#: One title/game segment of a session: (at ms, title, game id, game name).
Segment = tuple[int, str, str, str]


class StreamRow(NamedTuple):
    """A whole-row snapshot of a stream session (``streams``, ReplacingMergeTree(version))."""

    channel_id: int
    channel: str
    stream_id: str
    started_at: int
    ended_at: int | None
    end_reason: str
    last_sample_at: int | None
    peak_viewers: int
    viewer_sum: int
    samples: int
    segments: list[Segment]
    version: int


STREAM_COLUMNS: tuple[str, ...] = StreamRow._fields


#: One word of a transcript segment: (word, start ms, end ms, probability), absolute epoch ms.
Word = tuple[str, int, int, float]


class TranscriptSegmentRow(NamedTuple):
    """A ``transcript_segments`` row: one stretch of speech (times absolute epoch ms).

    ``segment_id`` is derived from (channel login, start) only (:func:`segment_id` in the
    transcripts dataflow), so a segment transcribed twice — a restart, a re-read of Kafka — is
    the same row under the table's key. ``channel_id`` is 0 while the login's id is unknown.
    """

    channel_id: int
    channel: str
    start: int
    end: int
    segment_id: str
    text: str
    words: list[Word]
    avg_logprob: float
    no_speech_prob: float
    language: str
    stream_id: str
    source: str
    model: str


TRANSCRIPT_SEGMENT_COLUMNS: tuple[str, ...] = TranscriptSegmentRow._fields


class TranscriptGapRow(NamedTuple):
    """A ``transcript_gaps`` row: audio in ``[start, end)`` that was not transcribed, and why
    (``behind``, ``missing``, ``restart``)."""

    channel_id: int
    channel: str
    start: int
    end: int
    reason: str
    source: str


TRANSCRIPT_GAP_COLUMNS: tuple[str, ...] = TranscriptGapRow._fields
