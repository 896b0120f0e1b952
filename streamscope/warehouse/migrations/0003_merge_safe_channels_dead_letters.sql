-- 0003_merge_safe_channels_dead_letters: make `channels` keep first/last seen right under merges,
-- and make `dead_letters` idempotent (a dead letter written twice counts once).
--
-- Statements are separated by lines holding only ';'. Each table is rebuilt the same way:
--   1. DROP the scratch table (a leftover of an interrupted run: either a partial copy, or, after the
--      EXCHANGE, the old table, whose rows are all in the new one already),
--   2. CREATE the scratch table with the new schema,
--   3. copy every row of the live table into it,
--   4. EXCHANGE the two atomically (readers and writers never see the table missing),
--   5. DROP the scratch table (now the old one).
-- Running the whole file again at any point, or on a fresh database (0001's empty tables), ends in
-- the same state: after step 4 the live table already has the new schema, and copying it into a new
-- scratch table and exchanging again changes nothing. Rows inserted into the old table between
-- steps 3 and 4 would be lost, so migrate before the writers start (`streamscope db migrate`; the
-- ingest commands migrate before they start writing). EXCHANGE needs an Atomic database, the
-- default since ClickHouse 20.10 and what chDB creates.

-- channels: one row per (channel_id, login) with the earliest first_seen and the latest last_seen.
--
-- 0001 made it ReplacingMergeTree(last_seen) ORDER BY channel_id, so a merge kept the row with the
-- largest last_seen and threw away the earliest first_seen. AggregatingMergeTree with
-- SimpleAggregateFunction(min/max) columns folds the rows of a key into min(first_seen) and
-- max(last_seen) on every merge instead; writers still insert plain (channel_id, login, first_seen,
-- last_seen) rows, and a row written twice changes nothing.
--
-- ORDER BY (channel_id, login): ids are stable and logins can be renamed, so a renamed channel keeps
-- one row per login with its own span. The current login of an id is argMax(login, last_seen) over
-- its rows, and the channel's span is min(first_seen)/max(last_seen) over them; readers aggregate
-- (GROUP BY) rather than rely on merges having happened. The table is tiny: key order is for merging,
-- lookups by id read a range of the primary key.
DROP TABLE IF EXISTS channels_0003
;
CREATE TABLE channels_0003
(
    channel_id      UInt64,
    login           String,
    first_seen      SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen       SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (channel_id, login)
;
INSERT INTO channels_0003 (channel_id, login, first_seen, last_seen)
SELECT channel_id, login, min(first_seen), max(last_seen) FROM channels GROUP BY channel_id, login
;
EXCHANGE TABLES channels AND channels_0003
;
DROP TABLE IF EXISTS channels_0003
;
-- dead_letters: a line re-read after a crash, or a recording replayed again, is the same dead letter
-- (same received_at: the replay derives it from the line, the writer's refused rows from the row),
-- so it must be stored once. 0001's plain MergeTree kept every copy and counts grew with each replay.
--
-- ReplacingMergeTree over a deterministic key of the whole dead letter: merges collapse copies, and
-- readers that count use FINAL so copies not yet merged are invisible too. raw and reason enter the
-- key as cityHash64 (8 bytes each) rather than whole strings, which keeps the primary key small; two
-- different payloads of the same millisecond, source, channel and stage colliding on both hashes is
-- not a practical concern. received_at stays first: reads are time ranges (the dashboards), and each
-- is a range of the primary key.
DROP TABLE IF EXISTS dead_letters_0003
;
CREATE TABLE dead_letters_0003
(
    received_at     DateTime64(3, 'UTC'),
    source          LowCardinality(String),
    channel         String,
    stage           LowCardinality(String),
    reason          String,
    raw             String                                  CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree
ORDER BY (received_at, source, channel, stage, cityHash64(raw), cityHash64(reason))
;
INSERT INTO dead_letters_0003 (received_at, source, channel, stage, reason, raw)
SELECT received_at, source, channel, stage, reason, raw FROM dead_letters
;
EXCHANGE TABLES dead_letters AND dead_letters_0003
;
DROP TABLE IF EXISTS dead_letters_0003
