-- 0002_streams: viewer samples (Helix GET /streams) and stream sessions (EventSub + samples).
--
-- Statements are separated by lines holding only ';' and are idempotent (IF NOT EXISTS).

-- One row per channel per Helix poll that found it live. ReplacingMergeTree on
-- (channel_id, sampled_at): sampled_at is the poll time carried in the published envelope, so a
-- poll delivered twice (at-least-once bus, re-processing the topic) is one row under FINAL.
-- The common read is one channel over a time range, bucketed: a range of the primary key.
CREATE TABLE IF NOT EXISTS viewer_samples
(
    channel_id      UInt64                                  CODEC(Delta, ZSTD(1)),
    channel         LowCardinality(String),
    sampled_at      DateTime64(3, 'UTC')                    CODEC(DoubleDelta, ZSTD(1)),
    viewers         UInt32                                  CODEC(T64, ZSTD(1)),
    stream_id       String                                  CODEC(ZSTD(1)),
    started_at      DateTime64(3, 'UTC')                    CODEC(DoubleDelta, ZSTD(1)),
    game_id         LowCardinality(String),
    game            LowCardinality(String),
    title           String                                  CODEC(ZSTD(3)),
    language        LowCardinality(String),
    source          LowCardinality(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(sampled_at)
ORDER BY (channel_id, sampled_at)
;
-- Stream sessions. The streams dataflow re-emits a session's whole row each time it changes
-- (opened, new peak/average, new title/game segment, closed), with a larger `version`; reads use
-- FINAL so only the newest row of (channel_id, stream_id) counts. ended_at is NULL while live.
-- Chat is linked at read time: a message belongs to the session of its channel with
-- started_at <= sent_at < ifNull(ended_at, now()); chat rows are never rewritten.
CREATE TABLE IF NOT EXISTS streams
(
    channel_id      UInt64,
    channel         LowCardinality(String),
    stream_id       String,
    started_at      DateTime64(3, 'UTC'),
    ended_at        Nullable(DateTime64(3, 'UTC')),
    -- offline (EventSub stream.offline), vanished (absent from a /streams answer that asked for the
    -- channel), replaced (a new stream id appeared first); empty while live.
    end_reason      LowCardinality(String),
    last_sample_at  Nullable(DateTime64(3, 'UTC')),
    peak_viewers    UInt32,
    viewer_sum      UInt64,
    samples         UInt32,
    -- Title/game segments in time order: a new one starts whenever either changes.
    segments        Array(Tuple(at DateTime64(3, 'UTC'), title String, game_id String, game String)),
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (channel_id, stream_id)
