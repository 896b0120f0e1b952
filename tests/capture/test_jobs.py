"""JobManager persistence: what a new manager finds in a jobs directory left by a crashed process.

The files are made the way a job makes them (the real writers over the real #xqcow lines); the
crash is what is left on disk: metadata saying ``running`` and a file that may end mid-line.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

import pytest

from streamscope.capture import Job, JobError, JobManager, UnsupportedUrl
from streamscope.capture.jobs import jobs_dir
from streamscope.records import RawLine
from streamscope.settings import Settings
from streamscope.sinks.files import messages_from_lines, open_writer
from tests.capture.oracle import expected, read_file
from tests.data import XQCOW
from tests.fixtures.twitch_irc_server import load_lines

LINES = load_lines(XQCOW)[:250]
NOW = 1_800_000_000.0


def crashed_job(jobs: Path, job_id: str, fmt: str, status: str, torn: bool) -> tuple[Job, bytes]:
    """Leave ``jobs`` as a process killed mid-capture does; returns the job and its whole-line bytes."""
    jobs.mkdir(parents=True, exist_ok=True)
    job = Job(
        id=job_id, url="https://www.twitch.tv/xqcow", format=fmt, kind="twitch_live", target="xqcow",
        max_messages=None, timeout=7200.0, status=status, messages=17 if status == "running" else 0,
        created_at=NOW - 60,
        started_at=NOW - 59 if status == "running" else None,
    )  # fmt: skip
    (jobs / f"{job_id}.job.json").write_text(json.dumps(asdict(job)))
    whole = b""
    if status == "running":
        with (jobs / f"{job_id}.{fmt}").open("wb") as fp:
            writer = open_writer(fmt, fp)
            writer.write(messages_from_lines([RawLine("xqcow", line, 0, "test") for line in LINES]))
            fp.flush()
        whole = (jobs / f"{job_id}.{fmt}").read_bytes()
        if torn:  # the process died in the middle of writing the next batch
            with (jobs / f"{job_id}.{fmt}").open("ab") as fp:
                fp.write(whole.split(b"\n")[3][:40])
    return job, whole


@pytest.mark.parametrize("fmt", ["jsonl", "txt", "csv"])
def test_a_running_line_file_is_trimmed_to_whole_lines_and_recounted(tmp_path: Path, fmt: str) -> None:
    job, whole = crashed_job(tmp_path, "a" * 32, fmt, "running", torn=True)
    manager = JobManager(tmp_path, Settings(), now=lambda: NOW)
    got = manager.get(job.id)
    assert got is not None
    want = expected(LINES)
    assert (got.status, got.messages, got.bytes, got.complete) == ("failed", len(want), len(whole), False)
    assert (
        got.error
        == "interrupted: the API stopped while this job was running; the file holds what was captured before"
    )
    assert (got.ended_at, got.expires_at) == (NOW, NOW + 86400)
    assert manager.path(got).read_bytes() == whole
    if fmt != "txt":
        assert read_file(fmt, whole) == want
    assert got.readable()
    # The verdict is saved: the next manager reads it as it is.
    again = JobManager(tmp_path, Settings(), now=lambda: NOW + 5).get(job.id)
    assert again is not None and (again.status, again.ended_at) == ("failed", NOW)


def test_a_cut_off_json_file_is_kept_but_not_served(tmp_path: Path) -> None:
    job, _ = crashed_job(tmp_path, "b" * 32, "json", "running", torn=False)
    got = JobManager(tmp_path, Settings(), now=lambda: NOW).get(job.id)
    assert got is not None
    assert (got.status, got.messages, got.complete, got.readable()) == ("failed", 17, False, False)
    assert got.bytes == (tmp_path / f"{job.id}.json").stat().st_size > 0


def test_a_queued_job_that_never_ran_is_failed_too(tmp_path: Path) -> None:
    job, _ = crashed_job(tmp_path, "c" * 32, "csv", "queued", torn=False)
    got = JobManager(tmp_path, Settings(), now=lambda: NOW).get(job.id)
    assert got is not None
    assert (got.status, got.messages, got.bytes) == ("failed", 0, 0)
    assert got.error == "interrupted: the API stopped while this job was queued; it never ran"


def test_unreadable_metadata_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job, _ = crashed_job(tmp_path, "d" * 32, "txt", "queued", torn=False)
    (tmp_path / ("e" * 32 + ".job.json")).write_text('{"id": "eee", "status": "runn')
    with caplog.at_level(logging.WARNING):
        manager = JobManager(tmp_path, Settings(), now=lambda: NOW)
    assert [j.id for j in manager.jobs()] == [job.id]
    assert any("ignoring unreadable capture job metadata" in r.message for r in caplog.records)


def test_serving_alone_creates_no_jobs_directory(tmp_path: Path) -> None:
    manager = JobManager(tmp_path / "jobs", Settings())
    assert manager.jobs() == []
    manager.stop()
    assert not (tmp_path / "jobs").exists()


def test_the_jobs_folder_is_beside_the_warehouse_data_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path.resolve()
    (root / "cwd").mkdir()
    monkeypatch.chdir(root / "cwd")
    monkeypatch.delenv("STREAMSCOPE_JOBS_DIR", raising=False)
    monkeypatch.delenv("STREAMSCOPE_CLICKHOUSE_URL", raising=False)
    cases = {
        f"chdb://{root}/data/warehouse": root / "data" / "captures",
        "chdb://./store/warehouse": root / "cwd" / "store" / "captures",
        "chdb://:memory:": root / "cwd" / "streamscope-data" / "captures",
        "https://user:secret@clickhouse.example.org:8443": root / "cwd" / "streamscope-data" / "captures",
    }
    for url, want in cases.items():
        assert jobs_dir(Settings(clickhouse_url=url)) == want, url
    assert jobs_dir(Settings()) == root / "cwd" / "streamscope-data" / "captures"  # the default warehouse's
    # An explicit folder wins, from the environment too.
    assert jobs_dir(Settings(clickhouse_url=f"chdb://{root}/data/warehouse", jobs_dir="mine")) == Path("mine")
    monkeypatch.setenv("STREAMSCOPE_JOBS_DIR", str(root / "jobs"))
    assert jobs_dir(Settings(clickhouse_url=f"chdb://{root}/data/warehouse")) == root / "jobs"
    monkeypatch.delenv("STREAMSCOPE_JOBS_DIR")

    manager = JobManager.from_settings(Settings(clickhouse_url=f"chdb://{root}/data/warehouse"))
    assert manager.dir == root / "data" / "captures"
    manager.stop()


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("https://www.twitch.tv/xqcow", "irc"), JobError,
         "format must be one of json, jsonl, csv, txt, not 'irc'"),
        (("https://www.twitch.tv/xqcow", "json", 0), JobError, "max_messages must be at least 1"),
        (("https://www.twitch.tv/xqcow", "json", None, 60.5), JobError,
         "timeout must be more than 0 and at most 60 seconds"),
        (("https://vimeo.com/1", "json"), UnsupportedUrl, "cannot capture 'https://vimeo.com/1'"),
    ],
)  # fmt: skip
def test_submit_refuses_what_it_cannot_run(
    tmp_path: Path, args: tuple[object, ...], error: type[Exception], message: str
) -> None:
    manager = JobManager(tmp_path, Settings(), max_timeout_s=60)
    with pytest.raises(error) as err:
        manager.submit(*args)  # type: ignore[arg-type]
    assert str(err.value).startswith(message)
    assert list(tmp_path.iterdir()) == []
