"""Oracles for the speech tests: text normalisation and WER (jiwer), speech onsets from the audio
itself, and the segments a warehouse holds."""

from __future__ import annotations

import re
from dataclasses import dataclass

import jiwer
import numpy as np
from clickhouse_connect.driver.client import Client

_NUMBERS = {
    "0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
    "7": "seven", "8": "eight", "9": "nine", "10": "ten", "11": "eleven", "12": "twelve",
    "mr": "mister", "mrs": "missus",
}  # fmt: skip


def normalize(text: str) -> str:
    """Lower case, punctuation dropped (apostrophes kept), small numbers and titles spelled out as
    the reference texts spell them."""
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()
    return " ".join(_NUMBERS.get(w, w) for w in words)


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalize(reference), normalize(hypothesis) or "<nothing>"))


def speech_span_s(pcm: np.ndarray, rate: int = 16000) -> tuple[float, float]:
    """First and last moment (s) a 20 ms frame is louder than a tenth of the loudest frame."""
    frame = rate // 50
    n = len(pcm) // frame
    rms = np.sqrt(np.mean(pcm[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))
    loud = np.nonzero(rms > 0.1 * rms.max())[0]
    return loud[0] * 0.02, (loud[-1] + 1) * 0.02


@dataclass(frozen=True)
class Stored:
    start: int
    end: int
    text: str
    segment_id: str
    words: list[tuple[str, int, int]]


def words_between(segments: list[Stored], lo_ms: float, hi_ms: float) -> str:
    """The stored words whose middle lies in ``[lo_ms, hi_ms]``, in order, as one text."""
    return " ".join(w for s in segments for w, a, b in s.words if lo_ms <= (a + b) / 2 <= hi_ms)


def stored_segments(client: Client, channel: str) -> list[Stored]:
    """Every stored segment of ``channel``, each row as often as it is stored (no FINAL), by start."""
    rows = client.query(
        "SELECT toUnixTimestamp64Milli(start), toUnixTimestamp64Milli(end), text, toString(segment_id),"
        " arrayMap(w -> (w.1, w.2, w.3), words)"
        " FROM transcript_segments WHERE channel = {c:String} ORDER BY start",
        parameters={"c": channel},
    ).result_rows
    return [
        Stored(int(a), int(b), str(t), str(i), [(str(w), int(x), int(y)) for w, x, y in words])
        for a, b, t, i, words in rows
    ]


def stored_gaps(client: Client, channel: str) -> list[tuple[int, int, str]]:
    rows = client.query(
        "SELECT toUnixTimestamp64Milli(start), toUnixTimestamp64Milli(end), reason FROM transcript_gaps FINAL"
        " WHERE channel = {c:String} ORDER BY start",
        parameters={"c": channel},
    ).result_rows
    return [(int(a), int(b), str(r)) for a, b, r in rows]
