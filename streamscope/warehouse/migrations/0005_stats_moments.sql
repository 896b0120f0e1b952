-- 0005_stats_moments: windowed chat statistics (chat_stats) and hype moments (chat_moments).
--
-- Statements are separated by lines holding only ';' and are idempotent (IF NOT EXISTS).
--
-- Both tables are derived data: every row is recomputed from the deduplicated chat tables
-- (chat_messages / chat_events read with FINAL), never accumulated from the stream. A window that
-- changes (late lines, a re-replay, `streamscope stats rebuild`) gets a new row with a larger
-- computed_at; ReplacingMergeTree(computed_at) keeps the newest, and readers use FINAL so a
-- superseded row that is not merged away yet is invisible. A window with no chat is not stored
-- (or, when a rebuild finds it emptied, stored with messages = 0 and every count 0, which readers
-- skip like a missing row).

-- One row per (channel, step, window). Two series: step_s = 60 (1-minute windows, what /stats and
-- the dashboards read, coarser steps aggregate these rows) and step_s = 10 (10-second windows, the
-- input of the moment detector). All times are event time: tmi-sent-ts of the lines.
CREATE TABLE IF NOT EXISTS chat_stats
(
    channel_id              UInt64 COMMENT 'Twitch channel (room) id',
    channel                 LowCardinality(String) COMMENT 'channel login',
    step_s                  UInt32 COMMENT 'window length in seconds: 60 (1-minute series) or 10 (10-second series used for moments)',
    at                      DateTime64(3, 'UTC') COMMENT 'window start (inclusive), event time = tmi-sent-ts; the window is [at, at + step_s)' CODEC(DoubleDelta, ZSTD(1)),
    messages                UInt32 COMMENT 'chat messages in the window (distinct message ids, PRIVMSG incl. /me)',
    chatters                UInt32 COMMENT 'distinct users who sent a message in the window',
    first_time_chatters     UInt32 COMMENT 'distinct users whose message had first-msg=1 (first message ever in this channel)',
    actions                 UInt32 COMMENT 'messages sent with /me',
    replies                 UInt32 COMMENT 'messages that reply to another message (reply-parent-msg-id tag)',
    chatter_ids             Array(UInt64) COMMENT 'sorted distinct user ids of chatters; union them to count distinct chatters over several windows' CODEC(ZSTD(3)),
    first_time_chatter_ids  Array(UInt64) COMMENT 'sorted distinct user ids of first-time chatters' CODEC(ZSTD(3)),
    emotes                  UInt32 COMMENT 'emote uses in messages (Twitch emotes tag occurrences, plus configured third-party emote words)',
    emote_counts            Map(String, UInt32) COMMENT 'emote name -> uses in the window (every emote used)' CODEC(ZSTD(3)),
    top_emotes              Array(Tuple(name String, count UInt32)) COMMENT 'the 10 most used emotes, count descending then name',
    bits                    UInt64 COMMENT 'bits cheered in messages',
    subs                    UInt32 COMMENT 'new_subs + resubs + gift_subs',
    new_subs                UInt32 COMMENT 'USERNOTICE msg-id=sub',
    resubs                  UInt32 COMMENT 'USERNOTICE msg-id=resub',
    gift_subs               UInt32 COMMENT 'gifted subscriptions: USERNOTICE msg-id=subgift lines (one per recipient; submysterygift announcements are not counted)',
    raids                   UInt32 COMMENT 'incoming raids (USERNOTICE msg-id=raid)',
    raid_viewers            UInt64 COMMENT 'viewers brought by those raids (msg-param-viewerCount)',
    timeouts                UInt32 COMMENT 'CLEARCHAT with a ban-duration (timeouts)',
    bans                    UInt32 COMMENT 'CLEARCHAT naming a user without ban-duration (permanent bans)',
    deletions               UInt32 COMMENT 'single messages deleted by moderators (CLEARMSG)',
    clears                  UInt32 COMMENT 'whole-chat clears (CLEARCHAT without a user)',
    message_length_sum      UInt64 COMMENT 'sum of message text lengths in characters; avg_message_length = message_length_sum / messages',
    computed_at             DateTime64(3, 'UTC') COMMENT 'when the row was computed; the version: the newest row of a window wins (read with FINAL)'
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(at)
ORDER BY (channel_id, step_s, at)
;
-- Hype moments: bursts of chat against the channel's own rolling baseline, found over the 10-second
-- series (see README "Hype moments" for the detector and its parameters). One row per moment,
-- keyed by its start; a moment re-detected with more data replaces the row of the same start, and a
-- moment that a re-detection no longer finds (its windows were corrected) gets a newer row with
-- is_deleted = 1, which FINAL hides (ReplacingMergeTree's is_deleted column).
CREATE TABLE IF NOT EXISTS chat_moments
(
    channel_id          UInt64 COMMENT 'Twitch channel (room) id',
    channel             LowCardinality(String) COMMENT 'channel login',
    start               DateTime64(3, 'UTC') COMMENT 'start of the first 10-second window of the burst',
    end                 DateTime64(3, 'UTC') COMMENT 'end (exclusive) of the last 10-second window of the burst',
    peak                DateTime64(3, 'UTC') COMMENT 'start of the 10-second window with the highest message rate',
    peak_rate           Float64 COMMENT 'messages per minute in the peak 10-second window',
    baseline_rate       Float64 COMMENT 'messages per minute of the channel''s rolling baseline before the burst',
    score               Float64 COMMENT 'burst strength: peak_rate / baseline_rate, raised by chatter and emote concentration (see README)',
    chatters            UInt32 COMMENT 'distinct users who chatted during the moment',
    top_emotes          Array(Tuple(name String, count UInt32)) COMMENT 'the 10 most used emotes during the moment',
    sample_message_ids  Array(UUID) COMMENT 'a few chat_messages.message_id of the moment (from the peak window first)',
    stream_id           String COMMENT 'streams.stream_id of the session the moment falls in; empty when outside a known session',
    computed_at         DateTime64(3, 'UTC') COMMENT 'when the row was computed; the version (read with FINAL)',
    is_deleted          UInt8 COMMENT '1: the moment is withdrawn (no longer detected); FINAL hides such rows'
)
ENGINE = ReplacingMergeTree(computed_at, is_deleted)
ORDER BY (channel_id, start)
