"""Background capture jobs (the seed "Twitch Chat Tracker"): queue, run, persist, cancel, expire.

Contract:

* :meth:`JobManager.submit` validates and queues a job; at most ``max_concurrent`` run at once, the
  others wait in submission order (never refused). Every job ends within its timeout (≤ the
  configured maximum, 2 h by default).
* Each job is two files in ``jobs_dir`` (see :func:`jobs_dir` for its default): ``<id>.job.json``
  (metadata, rewritten atomically on every state change and about once a second while running) and
  ``<id><ext>`` (the capture, written incrementally, so jsonl/txt/csv are a valid prefix at any time).
* A job whose source cannot be reached shows it while it retries (``failed_attempts``,
  ``last_error``) and fails, freeing its slot for the queue, once ``capture_connect_timeout_s``
  passed without reaching it (never connected to IRC; a GQL request failing that long).
* A job left ``queued``/``running`` in the metadata by a process that died is marked ``failed``
  with an error saying so when the next manager opens the directory; its file is kept. A manager
  that is stopped (API shutdown) closes the files of its running jobs and marks them ``failed``.
* A job that ended is deleted (file and metadata) ``retention_s`` after it ended, measured with
  :attr:`JobManager.now` (wall-clock seconds; tests replace it to jump ahead).
* Jobs run on one event loop in a daemon thread owned by the manager, started on first use; every
  public method is thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from streamscope.capture.job import ACTIVE, LINE_FORMATS, Job, recount
from streamscope.capture.progress import Progress, describe
from streamscope.capture.session import capture
from streamscope.capture.urls import Target, resolve
from streamscope.settings import Settings
from streamscope.sinks.files import CAPTURE_FORMATS, EXTENSIONS
from streamscope.warehouse.client import chdb_path

log = logging.getLogger(__name__)

_PERSIST_EVERY_S = 1.0
_SWEEP_EVERY_S = 60.0
#: The jobs folder of a warehouse that has no folder of its own here (a ClickHouse server, in-memory chDB).
SERVER_JOBS_DIR = Path("streamscope-data") / "captures"


def jobs_dir(settings: Settings) -> Path:
    """Where capture jobs live: ``settings.jobs_dir`` when set, else beside the warehouse data.

    For ``chdb://DIR`` that is ``captures`` next to ``DIR`` (``chdb://./streamscope-data/warehouse`` →
    ``./streamscope-data/captures``, made absolute), so the jobs follow the data wherever it is
    kept rather than the directory the process happened to start in; for a server (or an in-memory
    chDB) it is ``./streamscope-data/captures``.
    """
    if settings.jobs_dir:
        return Path(settings.jobs_dir)
    warehouse = chdb_path(settings.clickhouse_url)
    if warehouse is None or warehouse == ":memory:":
        return SERVER_JOBS_DIR.resolve()
    return Path(warehouse).parent / "captures"


class JobError(ValueError):
    """A job request the manager refuses (bad format, limits); the message says why."""


class JobManager:
    """Runs capture jobs; see the module docstring for the contract."""

    def __init__(
        self,
        jobs_dir: str | Path,
        settings: Settings,
        *,
        now: Callable[[], float] = time.time,
        max_concurrent: int | None = None,
        max_timeout_s: float | None = None,
        retention_s: float | None = None,
    ) -> None:
        self.dir = Path(jobs_dir)  # created by the first submit(), so merely serving creates nothing
        self.settings = settings
        self.now = now
        """Wall clock used for job times and expiry; replace it to move time."""
        self.max_concurrent = max_concurrent or settings.capture_max_concurrent
        self.max_timeout_s = max_timeout_s or settings.capture_max_timeout_s
        self.retention_s = retention_s or settings.capture_retention_s
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._progress: dict[str, Progress] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._done: dict[str, threading.Event] = {}
        self._cancel_requested: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._slots: asyncio.Semaphore | None = None
        self._stopped = False
        self._recover()

    @classmethod
    def from_settings(cls, settings: Settings) -> JobManager:
        return cls(jobs_dir(settings), settings)

    # -- public API ---------------------------------------------------------------------------

    def submit(
        self, url: str, fmt: str, max_messages: int | None = None, timeout: float | None = None
    ) -> Job:
        """Queue a capture of ``url``; raises :class:`~streamscope.capture.urls.UnsupportedUrl` or
        :class:`JobError` for a request it cannot run. ``timeout`` defaults to the maximum."""
        target = resolve(url)
        if fmt not in CAPTURE_FORMATS:
            raise JobError(f"format must be one of {', '.join(CAPTURE_FORMATS)}, not {fmt!r}")
        if max_messages is not None and max_messages < 1:
            raise JobError("max_messages must be at least 1")
        limit = self.max_timeout_s
        if timeout is not None and not 0 < timeout <= limit:
            raise JobError(f"timeout must be more than 0 and at most {limit:g} seconds")
        job = Job(
            id=uuid.uuid4().hex,
            url=url,
            format=fmt,
            kind=target.kind,
            target=target.id,
            max_messages=max_messages,
            timeout=timeout if timeout is not None else limit,
            created_at=self.now(),
        )
        with self._lock:
            if self._stopped:
                raise JobError("the capture service is shutting down")
            self._jobs[job.id] = job
            self._done[job.id] = threading.Event()
            self.dir.mkdir(parents=True, exist_ok=True)
            self._save(job)
            loop = self._ensure_loop()

            def start() -> None:
                task = loop.create_task(self._run(job, target), name=f"capture-{job.id}")
                task.add_done_callback(lambda _: self._settle(job))
                self._tasks[job.id] = task

            # Callbacks run in order, so a cancel() right after this finds the task.
            loop.call_soon_threadsafe(start)
        return self.get(job.id) or job

    def get(self, job_id: str) -> Job | None:
        """A snapshot of the job (live counters included); None if unknown or expired."""
        self.expire()
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            progress = self._progress.get(job_id)
            if progress is not None and job.status == "running":
                _copy(progress, job)
            return Job(**asdict(job))

    def jobs(self) -> list[Job]:
        """Snapshots of every job, oldest first."""
        with self._lock:
            ids = list(self._jobs)
        return sorted((j for j in map(self.get, ids) if j is not None), key=lambda j: j.created_at)

    def path(self, job: Job) -> Path:
        """Where the job's file is (it may not exist yet for a queued job)."""
        return self.dir / f"{job.id}{EXTENSIONS[job.format]}"

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued or running job (its file is closed and kept); no-op for an ended job.

        Returns the job's snapshot after the cancellation took effect; None if unknown.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            done = self._done.get(job_id)
            if job.status in ACTIVE and done is not None:
                self._cancel_requested.add(job_id)
                self._cancel_soon(job_id)
        if done is not None:
            done.wait(30)
        return self.get(job_id)

    def expire(self) -> list[str]:
        """Delete ended jobs whose retention passed (file and metadata); their ids."""
        now = self.now()
        with self._lock:
            gone = [j.id for j in self._jobs.values() if j.expires_at is not None and j.expires_at <= now]
            for job_id in gone:
                job = self._jobs.pop(job_id)
                self._progress.pop(job_id, None)
                self._done.pop(job_id, None)
                for path in (self.path(job), self._meta(job_id)):
                    path.unlink(missing_ok=True)
        for job_id in gone:
            log.info("capture job %s expired: file and metadata deleted", job_id)
        return gone

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop accepting jobs; close the files of active ones and mark them failed; stop the loop."""
        with self._lock:
            self._stopped = True
            loop, thread = self._loop, self._thread
            active = [(job_id, self._done[job_id]) for job_id, j in self._jobs.items() if j.status in ACTIVE]
            for job_id, _ in active:
                self._cancel_soon(job_id)
        if loop is None or thread is None:
            return
        deadline = time.monotonic() + timeout_s
        for _, done in active:
            done.wait(max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(RuntimeError):  # closed by an earlier stop()
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=max(1.0, deadline - time.monotonic()))

    # -- the job runner (on the manager's loop) -----------------------------------------------

    def _cancel_soon(self, job_id: str) -> None:
        assert self._loop is not None

        def cancel() -> None:
            task = self._tasks.get(job_id)
            if task is not None:
                task.cancel()

        self._loop.call_soon_threadsafe(cancel)

    async def _run(self, job: Job, target: Target) -> None:
        assert self._slots is not None
        try:
            async with self._slots:
                with self._lock:
                    progress = self._progress[job.id] = Progress()
                    job.status, job.started_at = "running", self.now()
                    self._save(job)
                last_save = time.monotonic()

                def on_batch(p: Progress) -> None:
                    nonlocal last_save
                    if time.monotonic() - last_save >= _PERSIST_EVERY_S:
                        last_save = time.monotonic()
                        self._update(job, p)

                with self.path(job).open("wb") as fp:
                    reason = await capture(
                        target,
                        job.format,
                        fp,
                        self.settings,
                        max_messages=job.max_messages,
                        timeout_s=job.timeout,
                        progress=progress,
                        on_batch=on_batch,
                    )
            self._end(job, "finished", stop_reason=reason)
        except asyncio.CancelledError:
            self._settle(job)
        except Exception as exc:  # any runner failure ends this job only; the reason is kept
            log.warning("capture job %s failed: %s", job.id, exc)
            self._end(job, "failed", error=describe(exc))

    def _settle(self, job: Job) -> None:
        """End a job its task left active: it was cancelled (maybe before it even started)."""
        with self._lock:
            if job.status not in ACTIVE:
                return
            if job.id in self._cancel_requested:
                self._end(job, "cancelled")
            else:
                self._end(job, "failed", error="the API shut down while this job was running")

    def _update(self, job: Job, p: Progress) -> None:
        with self._lock:
            _copy(p, job)
            self._save(job)

    def _end(
        self, job: Job, status: str, *, stop_reason: str | None = None, error: str | None = None
    ) -> None:
        with self._lock:
            progress = self._progress.pop(job.id, None)
            if progress is not None:
                _copy(progress, job)
                job.complete = True  # capture() closes its writer on every way out
            job.status, job.stop_reason, job.error = status, stop_reason, error
            job.ended_at = self.now()
            job.expires_at = job.ended_at + self.retention_s
            self._cancel_requested.discard(job.id)
            self._tasks.pop(job.id, None)
            self._save(job)
            self._done[job.id].set()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            started = threading.Event()

            def main() -> None:
                asyncio.set_event_loop(loop)
                self._slots = asyncio.Semaphore(self.max_concurrent)
                loop.create_task(self._sweep())
                loop.create_task(self._checkpoints())
                loop.call_soon(started.set)
                try:
                    loop.run_forever()
                finally:
                    left = asyncio.all_tasks(loop)
                    for task in left:
                        task.cancel()
                    loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
                    loop.close()

            self._thread = threading.Thread(target=main, name="capture-jobs", daemon=True)
            self._thread.start()
            started.wait()
            self._loop = loop
        return self._loop

    async def _checkpoints(self) -> None:
        # Running jobs' counters reach the metadata about once a second even when chat comes in one
        # burst, so a crash loses at most a second of progress figures (the file itself is flushed
        # after every batch, and recovery recounts it).
        saved: dict[str, tuple[int, int]] = {}
        while True:
            await asyncio.sleep(_PERSIST_EVERY_S)
            with self._lock:
                for job_id, progress in self._progress.items():
                    state = (progress.messages, progress.failed_attempts)
                    if saved.get(job_id) != state:
                        saved[job_id] = state
                        self._update(self._jobs[job_id], progress)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(_SWEEP_EVERY_S)
            await asyncio.to_thread(self.expire)

    # -- persistence --------------------------------------------------------------------------

    def _meta(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.job.json"

    def _save(self, job: Job) -> None:
        # Atomic: a reader (or the next process) sees the old or the new metadata, never half.
        path = self._meta(job.id)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(job)), encoding="utf-8")
        os.replace(tmp, path)

    def _recover(self) -> None:
        if not self.dir.is_dir():
            return
        for path in sorted(self.dir.glob("*.job.json")):
            try:
                job = Job(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("ignoring unreadable capture job metadata %s: %s", path, exc)
                continue
            if job.status in ACTIVE:
                was = job.status
                file = self.path(job)
                job.bytes = file.stat().st_size if file.exists() else 0
                if file.exists() and job.format in LINE_FORMATS:
                    job.messages, job.bytes = recount(file, job.format)
                job.status = "failed"
                job.error = f"interrupted: the API stopped while this job was {was}; " + (
                    "the file holds what was captured before" if was == "running" else "it never ran"
                )
                job.ended_at = self.now()
                job.expires_at = job.ended_at + self.retention_s
                self._save(job)
                log.warning("capture job %s was %s when the API stopped: marked failed", job.id, was)
            self._jobs[job.id] = job


def _copy(progress: Progress, job: Job) -> None:
    """The live counters of a running job into its record."""
    job.messages, job.bytes, job.elapsed = progress.messages, progress.bytes, progress.elapsed
    job.failed_attempts, job.last_error = progress.failed_attempts, progress.last_error
