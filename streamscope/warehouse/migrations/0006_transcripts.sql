-- 0006_transcripts: what the streamer said (the transcripts dataflow, faster-whisper), and the audio
-- that was not transcribed.
--
-- Statements are separated by lines holding only ';' and are idempotent (IF NOT EXISTS).

-- One row per transcribed stretch of speech. ReplacingMergeTree ORDER BY (channel_id, start): the
-- transcriber derives a segment's start (and its segment_id) from the audio's absolute time only,
-- so a segment written twice (a restart re-reading Kafka, a re-run over the same file) is one row
-- under FINAL. Reads are one channel over a time range (the /transcript page, the transcript around
-- a moment or a stream session): a range of the primary key. channel_id is 0 while the login's id
-- is unknown (a file transcribed for a channel never captured); readers also match channel = login
-- there.
-- The ngram bloom filter over lower(text) lets `q` (a case-insensitive substring) skip granules;
-- words hold absolute per-word times (empty without word timestamps).
CREATE TABLE IF NOT EXISTS transcript_segments
(
    channel_id      UInt64,
    channel         LowCardinality(String),
    start           DateTime64(3, 'UTC')                    CODEC(DoubleDelta, ZSTD(1)),
    end             DateTime64(3, 'UTC')                    CODEC(DoubleDelta, ZSTD(1)),
    segment_id      UUID,
    text            String                                  CODEC(ZSTD(3)),
    words           Array(Tuple(word String, start Int64, end Int64, probability Float32)) CODEC(ZSTD(3)),
    avg_logprob     Float32,
    no_speech_prob  Float32,
    language        LowCardinality(String),
    stream_id       String,
    source          LowCardinality(String),
    model           LowCardinality(String),
    INDEX idx_text lower(text) TYPE ngrambf_v1(3, 8192, 3, 0) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(start)
ORDER BY (channel_id, start)
;
-- Audio not transcribed, with why: behind (the model fell more than the allowed lag behind live and
-- skipped audio to catch up), missing (the source had no audio for the span: a broken segment, a
-- stall), restart (audio between the last stored segment and the first audio after a restart). A
-- gap recorded twice is one row (same key).
CREATE TABLE IF NOT EXISTS transcript_gaps
(
    channel_id      UInt64,
    channel         LowCardinality(String),
    start           DateTime64(3, 'UTC'),
    end             DateTime64(3, 'UTC'),
    reason          LowCardinality(String),
    source          LowCardinality(String)
)
ENGINE = ReplacingMergeTree
ORDER BY (channel, start)
