"""Capture jobs: chat of a live Twitch channel, a Twitch VOD or clip, or a YouTube video, to a file.

* :mod:`~streamscope.capture.urls` - which capture a URL asks for (:func:`resolve`).
* :mod:`~streamscope.capture.live`, :mod:`~streamscope.capture.vod`, :mod:`~streamscope.capture.youtube`
  - the runners: async iterators of :class:`~streamscope.sinks.files.FileMessage` batches per kind of URL.
* :mod:`~streamscope.capture.session` - one capture to a file with limits and progress
  (``streamscope capture`` and the jobs both use it).
* :mod:`~streamscope.capture.progress` - what a running capture reports, and the error of a source
  it could not reach in time (:class:`~streamscope.capture.progress.SourceUnreachable`).
* :mod:`~streamscope.capture.jobs` - the background jobs behind ``POST /download``.
"""

from __future__ import annotations

from streamscope.capture.job import Job, job_json
from streamscope.capture.jobs import JobError, JobManager
from streamscope.capture.progress import Progress, SourceUnreachable
from streamscope.capture.session import RUNNERS, capture
from streamscope.capture.urls import SUPPORTED, Target, UnsupportedUrl, resolve

__all__ = [
    "RUNNERS",
    "SUPPORTED",
    "Job",
    "JobError",
    "JobManager",
    "Progress",
    "SourceUnreachable",
    "Target",
    "UnsupportedUrl",
    "capture",
    "job_json",
    "resolve",
]
