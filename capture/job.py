"""A capture job's record: its persisted fields, its status JSON, and its file's line helpers."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streamscope.capture.urls import Target
from streamscope.sinks.files import EXTENSIONS

#: Job states before the end; a job then ends "finished", "failed" or "cancelled".
ACTIVE = ("queued", "running")
#: Formats whose file may be read while the job runs (each write leaves whole lines).
READABLE_WHILE_RUNNING = ("jsonl", "txt")
#: Formats with one record per line (csv: per row), which recovery can recount and trim.
LINE_FORMATS = ("jsonl", "txt", "csv")


@dataclass
class Job:
    """A capture job's persisted state (``<id>.job.json``); times are Unix seconds (wall clock)."""

    id: str
    url: str
    format: str
    kind: str
    target: str
    max_messages: int | None
    timeout: float
    status: str = "queued"
    messages: int = 0
    bytes: int = 0
    elapsed: float = 0.0
    error: str | None = None
    stop_reason: str | None = None
    """Why a finished job stopped: ``end`` (no more chat), ``max_messages``, ``timeout``."""
    failed_attempts: int = 0
    """Attempts to reach the source that failed (the job retries until its connect timeout)."""
    last_error: str | None = None
    """The most recent of those failures; shown while the job retries and kept after it ends."""
    complete: bool = False
    """The writer closed the file (a json array is whole); false for a job cut off by a crash."""
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    expires_at: float | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def filename(self) -> str:
        """The download's file name, e.g. ``xqcow-3f2a9c1e.jsonl``."""
        name = Target(self.kind, self.target, self.url).name  # type: ignore[arg-type]
        return f"{name}-{self.id[:8]}{EXTENSIONS[self.format]}"

    def readable(self) -> bool:
        """May the file be served now (see the module contract)?"""
        if self.status in ACTIVE:
            return self.status == "running" and self.format in READABLE_WHILE_RUNNING
        return self.complete or self.format != "json"


def whole_lines(path: Path) -> int:
    """Bytes of ``path`` up to and including its last newline (a line being written is left out)."""
    size = path.stat().st_size
    with path.open("rb") as fp:
        at = size
        while at > 0:
            start = max(0, at - 65536)
            fp.seek(start)
            newline = fp.read(at - start).rfind(b"\n")
            if newline >= 0:
                return start + newline + 1
            at = start
    return 0


def recount(path: Path, fmt: str) -> tuple[int, int]:
    """Cut a line-oriented file cut off by a crash back to its last whole line; (messages, bytes)."""
    size = whole_lines(path)
    if size != path.stat().st_size:
        with path.open("r+b") as fp:
            fp.truncate(size)
    with path.open("r", encoding="utf-8", newline="") as fp:
        if fmt == "csv":  # a quoted cell may hold a newline: count records, minus the header row
            return max(0, sum(1 for _ in csv.reader(fp)) - 1), size
        return sum(1 for _ in fp), size


def job_json(job: Job) -> dict[str, Any]:
    """The status object of the API for ``job`` (times as ISO 8601 UTC)."""

    def iso(t: float | None) -> str | None:
        return None if t is None else datetime.fromtimestamp(t, tz=UTC).isoformat().replace("+00:00", "Z")

    return {
        "download_id": job.id,
        "status": job.status,
        "url": job.url,
        "format": job.format,
        "messages": job.messages,
        "elapsed": round(job.elapsed, 3),
        "rate": round(job.rate, 3),
        "bytes": job.bytes,
        "error": job.error,
        "stop_reason": job.stop_reason,
        "failed_attempts": job.failed_attempts,
        "last_error": job.last_error,
        "max_messages": job.max_messages,
        "timeout": job.timeout,
        "filename": job.filename,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "ended_at": iso(job.ended_at),
        "expires_at": iso(job.expires_at),
    }
