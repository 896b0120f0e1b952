"""Opaque keyset cursors: the (timestamp ms, UUID) of the last row of a page.

Wire form: base64url (no padding) of ``version(1) | ms(int64 BE) | uuid(16) | check(6)``, where
``check`` is a BLAKE2b digest of the rest keyed by the cursor's *scope* (``messages`` or
``events``). The check is not a secret: it catches truncated, edited or wrong-endpoint cursors so
they are an error rather than a silently wrong page. A forged cursor can only select a different
keyset position, which the caller could have asked for with ``start`` anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import uuid
from dataclasses import dataclass
from typing import Any

from streamscope.query.errors import QueryError

_VERSION = 1
_BODY = struct.Struct(">Bq16s")
_CHECK_LEN = 6


@dataclass(frozen=True, slots=True)
class Position:
    """A keyset position: rows strictly after ``(ts_ms, row_id)`` come next."""

    ts_ms: int
    row_id: uuid.UUID


def _check(scope: str, body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=_CHECK_LEN, key=scope.encode()).digest()


def encode(scope: str, ts_ms: int, row_id: uuid.UUID | str) -> str:
    """The cursor string for ``scope`` pointing just after ``(ts_ms, row_id)``."""
    rid = row_id if isinstance(row_id, uuid.UUID) else uuid.UUID(row_id)
    body = _BODY.pack(_VERSION, ts_ms, rid.bytes)
    return base64.urlsafe_b64encode(body + _check(scope, body)).rstrip(b"=").decode("ascii")


def decode(scope: str, cursor: str, param: str = "cursor") -> Position:
    """Parse a cursor made by :func:`encode` for the same ``scope``; anything else is a
    :class:`QueryError` ``invalid_cursor`` naming ``param``."""
    invalid = QueryError("invalid_cursor", f"{param}: not a cursor returned by this endpoint")
    if not cursor or len(cursor) > 64:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise invalid from None
    if len(raw) != _BODY.size + _CHECK_LEN:
        raise invalid
    body, check = raw[: _BODY.size], raw[_BODY.size :]
    if _check(scope, body) != check:
        raise invalid
    version, ts_ms, rid = _BODY.unpack(body)
    if version != _VERSION:
        raise invalid
    return Position(ts_ms, uuid.UUID(bytes=rid))


def keyset_conditions(
    time_col: str,
    id_col: str,
    start_ms: int | None,
    end_ms: int | None,
    after: Position | None,
    params: dict[str, Any],
) -> list[str]:
    """WHERE conditions for a ``[start, end)`` window and the keyset position ``after``.

    ``time_col``/``id_col`` are trusted column names (never user input); values go to ``params``.
    The keyset is written ``t >= ts AND (t > ts OR id > after_id)`` rather than as a tuple
    comparison because only this form gives the primary key a range on the time column
    (checked with ``EXPLAIN indexes = 1``), which is what keeps a deep page as cheap as the first.
    """
    where = []
    if start_ms is not None:
        params["start"] = start_ms
        where.append(f"{time_col} >= fromUnixTimestamp64Milli({{start:Int64}}, 'UTC')")
    if end_ms is not None:
        params["end"] = end_ms
        where.append(f"{time_col} < fromUnixTimestamp64Milli({{end:Int64}}, 'UTC')")
    if after is not None:
        params["after_ts"] = after.ts_ms
        params["after_id"] = str(after.row_id)
        after_ts = "fromUnixTimestamp64Milli({after_ts:Int64}, 'UTC')"
        where.append(
            f"{time_col} >= {after_ts} AND ({time_col} > {after_ts} OR {id_col} > {{after_id:UUID}})"
        )
    return where
