"""Every streamscope dashboard, generated: the one source of ``grafana/dashboards/*.json``.

``grafana/dashboards/`` holds exactly :func:`render` of each dashboard of :func:`dashboards` (a test
checks it byte for byte); regenerate it with ``streamscope grafana export grafana/dashboards`` after
changing a dashboard here. docker-compose provisions those files; ``streamscope grafana push`` sends
the same dicts to a Grafana through its HTTP API.
"""

from __future__ import annotations

import json
from pathlib import Path

from streamscope.app.grafana.chat import chat
from streamscope.app.grafana.health import health
from streamscope.app.grafana.overview import overview
from streamscope.app.grafana.panels import CLICKHOUSE_TYPE, CLICKHOUSE_UID, Json
from streamscope.app.grafana.session import session

__all__ = ["CLICKHOUSE_TYPE", "CLICKHOUSE_UID", "dashboards", "export", "filename", "render"]


def dashboards() -> list[Json]:
    """The dashboards, each a fresh dict (callers may change their copy)."""
    return [overview(), session(), health(), chat()]


def filename(dash: Json) -> str:
    """The file a dashboard is committed as: its uid without the ``streamscope-`` prefix."""
    return dash["uid"].removeprefix("streamscope-") + ".json"


def render(dash: Json) -> str:
    """The committed text of a dashboard: 2-space JSON in the generator's key order, one final newline."""
    return json.dumps(dash, indent=2, ensure_ascii=False) + "\n"


def export(directory: Path) -> list[tuple[Path, str]]:
    """Write every dashboard to ``directory`` (created if missing); returns (path, created|updated|
    unchanged) per file. Other files in ``directory`` are left alone."""
    directory.mkdir(parents=True, exist_ok=True)
    done = []
    for dash in dashboards():
        path = directory / filename(dash)
        text = render(dash)
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old != text:
            path.write_text(text, encoding="utf-8")
        done.append((path, "created" if old is None else "unchanged" if old == text else "updated"))
    return done
