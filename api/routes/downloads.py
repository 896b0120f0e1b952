"""Capture jobs, the seed "Twitch Chat Tracker" contract: ``POST /download``, ``GET /status/{id}``,
``GET /download/{id}``, ``DELETE /download/{id}``.

The jobs run in the process's :class:`~streamscope.capture.JobManager` (``app.state.captures``,
made by :func:`streamscope.api.app.create_app`). Bad requests are 400s with the ``{"error": ...}`` shape; an
unknown or expired job is a 404; a file that cannot be served yet is a 409 saying when it can.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field

from streamscope.api.errors import ApiError, bad_parameter
from streamscope.capture import SUPPORTED, Job, JobError, JobManager, UnsupportedUrl, job_json
from streamscope.capture.job import whole_lines
from streamscope.sinks.files import CAPTURE_FORMATS, CONTENT_TYPES

router = APIRouter(tags=["capture jobs"])

_CHUNK = 64 * 1024
MAX_URL_CHARS = 2048
"""Longest ``url`` accepted: every supported URL is far shorter, and the URL is kept and echoed by
every ``/status`` for 24 h."""


def get_captures(request: Request) -> JobManager:
    manager: JobManager = request.app.state.captures
    return manager


Captures = Annotated[JobManager, Depends(get_captures)]


class DownloadRequest(BaseModel):
    """A capture job request."""

    url: str = Field(max_length=MAX_URL_CHARS, description=f"What to capture: {SUPPORTED}.")
    format: str = Field("json", description=f"File format: {', '.join(CAPTURE_FORMATS)}.")
    max_messages: int | None = Field(None, description="Stop after this many messages (at least 1).")
    timeout: float | None = Field(
        None,
        description="Stop after this many seconds of capture, counted from when the job starts running "
        "(at most the server's limit, 7200 s unless configured; that limit is also the default).",
    )


class DownloadCreated(BaseModel):
    download_id: str
    status_url: str = Field(
        description="`/status/{id}`, or an absolute URL under the configured public base URL "
        "(`STREAMSCOPE_PUBLIC_BASE_URL`)."
    )
    download_url: str = Field(description="`/download/{id}`, likewise relative unless a base URL is set.")


_UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"description": "Unknown job, or expired after 24 h"}}


def _job_or_404(captures: JobManager, download_id: str) -> Job:
    job = captures.get(download_id)
    if job is None:
        raise ApiError(404, "not_found", f"no download {download_id!r} (unknown, or expired after 24 h)")
    return job


@router.post(
    "/download",
    status_code=202,
    summary="Start a capture job",
    response_model=DownloadCreated,
)
def create_download(body: DownloadRequest, request: Request, captures: Captures) -> dict[str, str]:
    """Queue a capture of a live Twitch channel, a Twitch VOD or clip, or a YouTube video.

    At most 10 jobs run at once; more wait in the queue (status ``queued``). Poll ``status_url``;
    fetch ``download_url`` when finished (jsonl and txt also while running). Files are kept 24 h.
    """
    try:
        job = captures.submit(body.url, body.format, body.max_messages, body.timeout)
    except UnsupportedUrl as exc:
        raise bad_parameter("url", str(exc)) from None
    except JobError as exc:
        name = next((n for n in ("format", "max_messages", "timeout") if str(exc).startswith(n)), "request")
        raise bad_parameter(name, str(exc)) from None
    return {
        "download_id": job.id,
        "status_url": _job_url(request, "download_status", job.id),
        "download_url": _job_url(request, "download_file", job.id),
    }


def _job_url(request: Request, route: str, download_id: str) -> str:
    """The route's path for the job: absolute under ``public_base_url`` when configured, else relative
    (behind the server's ``root_path``). Never built from the Host header, which the client sets."""
    path = request.app.url_path_for(route, download_id=download_id)
    base: str | None = request.app.state.settings.public_base_url
    if base:
        return base.rstrip("/") + path
    return str(request.scope.get("root_path", "")) + path


@router.get(
    "/status/{download_id}", name="download_status", summary="Progress of a capture job", responses=_UNKNOWN
)
def download_status(download_id: str, captures: Captures) -> dict[str, Any]:
    """``status`` is queued, running, finished, failed or cancelled; ``messages``, ``bytes``,
    ``elapsed`` (s) and ``rate`` (messages/s) are live while it runs; ``error`` says why it failed."""
    return job_json(_job_or_404(captures, download_id))


@router.get(
    "/download/{download_id}",
    name="download_file",
    summary="The captured file",
    response_class=FileResponse,
    responses={
        200: {"content": {t: {} for t in set(CONTENT_TYPES.values())}},
        **_UNKNOWN,
        409: {"description": "No complete file yet (queued, running json/csv, or cut off)"},
    },
)
def download_file(download_id: str, captures: Captures) -> Any:
    """The file, with its content type and a file name. While the job runs, jsonl and txt files are
    served as far as written (whole lines); other formats answer 409 until the job ends."""
    job = _job_or_404(captures, download_id)
    path = captures.path(job)
    if not job.readable():
        if job.status == "queued":
            raise ApiError(409, "not_ready", "the job is queued; its file does not exist yet")
        if job.status == "running":
            raise ApiError(
                409,
                "not_ready",
                f"{job.format} files are served once the job ends (jsonl and txt also while running)",
            )
        raise ApiError(
            409, "incomplete", "the job was cut off before its json file was closed; it is not valid JSON"
        )
    if not path.exists():
        raise ApiError(409, "no_file", f"the job is {job.status} and wrote no file")
    media_type = CONTENT_TYPES[job.format]
    disposition = f'attachment; filename="{job.filename}"'
    if job.status == "running":
        size = whole_lines(path)
        return StreamingResponse(
            _read(path, size), media_type=media_type, headers={"Content-Disposition": disposition}
        )
    return FileResponse(path, media_type=media_type, filename=job.filename)


@router.delete("/download/{download_id}", summary="Cancel a capture job", responses=_UNKNOWN)
def cancel_download(download_id: str, captures: Captures) -> dict[str, Any]:
    """Cancel a queued or running job; its file so far stays downloadable. An ended job is left as
    it is (the answer shows its status)."""
    if captures.cancel(download_id) is None:
        raise ApiError(404, "not_found", f"no download {download_id!r} (unknown, or expired after 24 h)")
    return job_json(_job_or_404(captures, download_id))


def _read(path: Path, size: int) -> Iterator[bytes]:
    with path.open("rb") as fp:
        left = size
        while left > 0:
            chunk = fp.read(min(_CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
