-- 0004_room_states: the channels' ROOMSTATE lines (chat modes) in a table of their own.
--
-- Statements are separated by lines holding only ';' and are idempotent: IF NOT EXISTS, and the
-- backfill inserts rows with the table's own key, which ReplacingMergeTree collapses (readers fold
-- the rows, and a ROOMSTATE folded twice changes nothing, so copies not yet merged are harmless too).
--
-- Why a table: the /v1.0 message object carries the modes in force when a message was sent, the
-- fold of every ROOMSTATE of the channel up to then (Twitch sends them all after a JOIN, then only
-- the changed one). In chat_events, ROOMSTATE is a handful of rows among millions of timeouts and
-- subs per channel, in nearly every granule, so no index skips the rest and a fold up to a page read
-- the whole channel's event history (tried: ~60 ms a page for a year of 2M events). Here, the same
-- fold reads a few hundred rows per channel-year.
--
-- ORDER BY (channel_id, at, event_id), as chat_events: a fold is one range of the primary key. `at`
-- is the receive time (ROOMSTATE has no tmi-sent-ts), `tags` the line's tags, unescaped. No
-- partitions: the table stays small.
CREATE TABLE IF NOT EXISTS room_states
(
    channel_id      UInt64,
    at              DateTime64(3, 'UTC')                CODEC(DoubleDelta, ZSTD(1)),
    event_id        UUID,
    tags            Map(LowCardinality(String), String) CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree
ORDER BY (channel_id, at, event_id)
;
-- Every insert into chat_events (the writers, a replay, a re-replay) feeds its ROOMSTATE rows here.
-- A later migration that rebuilds chat_events (copy + EXCHANGE, as 0003 does) must recreate this view
-- on the new table and check that room_states still matches chat_events' ROOMSTATEs.
CREATE MATERIALIZED VIEW IF NOT EXISTS room_states_mv TO room_states AS
SELECT channel_id, at, event_id, tags FROM chat_events WHERE kind = 'roomstate'
;
-- The ROOMSTATEs stored before this migration (after the view exists, so none is missed).
INSERT INTO room_states (channel_id, at, event_id, tags)
SELECT channel_id, at, event_id, tags FROM chat_events WHERE kind = 'roomstate'
