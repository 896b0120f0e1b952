-- 0001_chat: chat messages, chat events, dead letters, channels.
--
-- Statements are separated by lines holding only ';'. Every statement is idempotent (IF NOT EXISTS)
-- so a migration interrupted half-way can simply be run again.
--
-- Duplicates: a message seen twice (reconnects, at-least-once delivery, re-replays) has the same
-- (channel_id, sent_at, message_id) because all three come from Twitch's own tags, so
-- ReplacingMergeTree collapses them; every read goes through FINAL, which makes not-yet-merged
-- duplicates invisible. Reads with FINAL still use the primary key and skip indexes.
--
-- ORDER BY (channel_id, sent_at, message_id): the common read is one channel over a time range,
-- paged by the keyset (sent_at, message_id), so each page is a range of the primary key.
-- User-in-channel reads use the bloom filters on user_id/user_login to skip granules.

CREATE TABLE IF NOT EXISTS chat_messages
(
    channel_id      UInt64                                  CODEC(Delta, ZSTD(1)),
    channel         LowCardinality(String),
    -- tmi-sent-ts: Twitch's clock, identical on every re-delivery (a dedup key component).
    sent_at         DateTime64(3, 'UTC')                    CODEC(DoubleDelta, ZSTD(1)),
    -- Twitch's message id; lines without one (old user logs) get a UUID derived from their content.
    message_id      UUID,
    user_id         UInt64                                  CODEC(ZSTD(1)),
    user_login      String                                  CODEC(ZSTD(3)),
    display_name    String                                  CODEC(ZSTD(3)),
    text            String                                  CODEC(ZSTD(3)),
    is_action       Bool,
    bits            UInt32                                  CODEC(ZSTD(1)),
    color           LowCardinality(String),
    badges          LowCardinality(String),
    badge_info      LowCardinality(String),
    emotes          String                                  CODEC(ZSTD(3)),
    -- Raw-line rebuild: the tag keys in wire order ('=' marks a key whose value lives in a typed
    -- column above) and the remaining tags as sent (Map keeps insertion order).
    tag_layout      LowCardinality(String),
    tags            Map(LowCardinality(String), String)     CODEC(ZSTD(3)),
    -- The raw line itself, only when the columns cannot rebuild it byte for byte (empty otherwise,
    -- which costs nothing on disk).
    raw_fallback    String                                  CODEC(ZSTD(3)),
    received_at     DateTime64(3, 'UTC')                    CODEC(DoubleDelta, ZSTD(1)),
    source          LowCardinality(String),
    INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_user_login user_login TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_text lower(text) TYPE tokenbf_v1(8192, 3, 0) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(sent_at)
ORDER BY (channel_id, sent_at, message_id)
SETTINGS index_granularity = 8192
;
-- Everything in chat that is not a chat message: USERNOTICE (sub, resub, subgift, raid,
-- announcement, ...), CLEARCHAT (timeout, ban, clear), CLEARMSG (delete), ROOMSTATE, NOTICE,
-- USERSTATE and the rest. Low volume, so the raw line is kept whole.
CREATE TABLE IF NOT EXISTS chat_events
(
    channel_id          UInt64,
    channel             LowCardinality(String),
    -- tmi-sent-ts when the line has one, else the receive time.
    at                  DateTime64(3, 'UTC')                CODEC(DoubleDelta, ZSTD(1)),
    -- Twitch's id when the line has one, else a UUID derived from the raw line.
    event_id            UUID,
    command             LowCardinality(String),
    -- USERNOTICE msg-id; timeout/ban/clear for CLEARCHAT; delete for CLEARMSG; else the command.
    kind                LowCardinality(String),
    user_id             UInt64,
    user_login          String,
    display_name        String,
    target_user_id      UInt64,
    target_login        String,
    target_message_id   String,
    duration_s          UInt32,
    text                String                              CODEC(ZSTD(3)),
    system_message      String                              CODEC(ZSTD(3)),
    tags                Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    raw                 String                              CODEC(ZSTD(3)),
    received_at         DateTime64(3, 'UTC')                CODEC(DoubleDelta, ZSTD(1)),
    source              LowCardinality(String),
    INDEX idx_kind kind TYPE set(64) GRANULARITY 1,
    INDEX idx_target_user target_user_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_target_msg target_message_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (channel_id, at, event_id)
;
-- Lines that could not be parsed or enriched: kept with the reason, counted, never dropped.
CREATE TABLE IF NOT EXISTS dead_letters
(
    received_at     DateTime64(3, 'UTC'),
    source          LowCardinality(String),
    channel         String,
    stage           LowCardinality(String),
    reason          String,
    raw             String                                  CODEC(ZSTD(3))
)
ENGINE = MergeTree
ORDER BY (received_at)
;
-- Channels seen, login <-> id. The newest login wins (logins can be renamed; ids are stable).
CREATE TABLE IF NOT EXISTS channels
(
    channel_id      UInt64,
    login           String,
    first_seen      DateTime64(3, 'UTC'),
    last_seen       DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(last_seen)
ORDER BY (channel_id)
