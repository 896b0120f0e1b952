"""The stored rows as every reader selects them: ``chat_messages`` as
:class:`~streamscope.warehouse.rows.MessageRow`, ``chat_events`` as
:class:`~streamscope.warehouse.rows.EventRow`, with the writers' value types.

Times come back as epoch ms (``toUnixTimestamp64Milli``) so no timezone or sub-second precision is
lost between ClickHouse and Python, and UUIDs as strings. Aliases never reuse a column name:
ClickHouse resolves WHERE names to SELECT aliases first, and a WHERE on ``sent_at`` must mean the
column. Rows are turned into the typed rows by position (``MessageRow._make``), so the order here
is the order of the row's fields.
"""

from __future__ import annotations

from streamscope.warehouse.rows import EVENT_COLUMNS, MESSAGE_COLUMNS

_MESSAGE_EXPR = {
    "sent_at": "toUnixTimestamp64Milli(sent_at) AS sent_ms",
    "message_id": "toString(message_id) AS message_uuid",
    "received_at": "toUnixTimestamp64Milli(received_at) AS received_ms",
}
_EVENT_EXPR = {
    "at": "toUnixTimestamp64Milli(at) AS at_ms",
    "event_id": "toString(event_id) AS event_uuid",
    "command": "toString(command) AS command_str",
    "kind": "toString(kind) AS kind_str",
    "received_at": "toUnixTimestamp64Milli(received_at) AS received_ms",
}

#: SELECT list of ``chat_messages`` giving :class:`MessageRow` fields in order.
MESSAGE_SELECT = ", ".join(_MESSAGE_EXPR.get(c, c) for c in MESSAGE_COLUMNS)
#: The ``chat_messages`` columns only the raw line, the files and ``/v1`` read; ``/v1.0`` pages leave
#: them out (:data:`SEED_MESSAGE_SELECT`).
_NOT_SEED = {
    "tag_layout": "'' AS blank_tag_layout",
    "raw_fallback": "'' AS blank_raw_fallback",
    "received_at": "toInt64(0) AS blank_received_ms",
    "source": "'' AS blank_source",
}
#: :data:`MESSAGE_SELECT` with the columns the seed message object does not use
#: (:func:`streamscope.query.render.seed_message_object`) read as blanks ('' or 0): a column read is
#: a column decompressed, about 0.1-0.3 ms of CPU each for a page of 100.
SEED_MESSAGE_SELECT = ", ".join(_NOT_SEED.get(c) or _MESSAGE_EXPR.get(c, c) for c in MESSAGE_COLUMNS)
#: SELECT list of ``chat_events`` giving :class:`EventRow` fields in order.
EVENT_SELECT = ", ".join(_EVENT_EXPR.get(c, c) for c in EVENT_COLUMNS)
