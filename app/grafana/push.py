"""``streamscope grafana push``: datasources, the folder and every dashboard into a Grafana, by uid.

Talks to Grafana's HTTP API through grafana-client (the ``grafana`` extra): ``GET /api/health``, then
``/api/datasources`` (by uid, then by name), ``/api/folders`` and ``/api/dashboards/uid/{uid}`` +
``POST /api/dashboards/db`` (``overwrite: true``). Idempotent: an object is written only when what
Grafana holds differs from what streamscope would write (dashboards compared without Grafana's
``id`` and ``version``; datasources on name, type, access, url and jsonData, plus whether the password
is set — Grafana never returns it, so ``force`` rewrites everything after a password change).

Every failure is a :class:`PushError` with one sentence, never the token or a password.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from streamscope.app.grafana.panels import CLICKHOUSE_TYPE, CLICKHOUSE_UID, Json

CLICKHOUSE_NAME = "streamscope ClickHouse"
PROMETHEUS_NAME, PROMETHEUS_UID = "streamscope Prometheus", "streamscope-prometheus"
MESSAGE = "streamscope grafana push"


class PushError(Exception):
    """A push that could not be done, explained in one sentence without secrets."""


@dataclass(frozen=True)
class Change:
    """What push did to one object: ``created``, ``updated`` or ``unchanged``."""

    kind: str  # datasource | folder | dashboard
    name: str
    uid: str
    action: str


@dataclass(frozen=True)
class Datasource:
    """A datasource as streamscope writes it; ``password`` goes to secureJsonData only."""

    name: str
    uid: str
    type: str
    url: str
    json_data: Json
    password: str | None = None

    def body(self, with_password: bool) -> Json:
        body: Json = {
            "name": self.name,
            "uid": self.uid,
            "type": self.type,
            "access": "proxy",
            "url": self.url,
            "jsonData": self.json_data,
        }
        if with_password and self.password is not None:
            body["secureJsonData"] = {"password": self.password}
        return body


def clickhouse_datasource(url: str, database: str) -> Datasource:
    """The grafana-clickhouse-datasource (v4 keys, as grafana/provisioning/datasources/clickhouse.yaml)
    for a ClickHouse server at ``url`` (``http(s)://USER:PASSWORD@HOST:PORT``, as Grafana reaches it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PushError(
            "Grafana needs a ClickHouse server: give --datasource-url http(s)://USER:PASSWORD@HOST:PORT "
            "(ClickHouse as Grafana reaches it; an embedded chdb:// warehouse cannot be a datasource)"
        )
    secure = parts.scheme == "https"
    try:
        port = parts.port or (8443 if secure else 8123)
    except ValueError:
        raise PushError("the ClickHouse URL for the datasource has an invalid port") from None
    return Datasource(
        name=CLICKHOUSE_NAME,
        uid=CLICKHOUSE_UID,
        type=CLICKHOUSE_TYPE,
        url="",
        json_data={
            "host": parts.hostname,
            "port": port,
            "protocol": "http",
            "secure": secure,
            "username": parts.username or "default",
            "defaultDatabase": database,
            "dialTimeout": 10,
            "queryTimeout": 60,
        },
        password=parts.password or "",
    )


def prometheus_datasource(url: str) -> Datasource:
    """A Prometheus datasource at ``url`` (as Grafana reaches it); the health dashboard's
    ``prometheus`` variable offers it."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise PushError("--prometheus-url must be an http(s) URL")
    return Datasource(PROMETHEUS_NAME, PROMETHEUS_UID, "prometheus", url, {"httpMethod": "POST"})


def public_url(url: str) -> str:
    """``url`` without user info (a password may be in it)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def folder_uid(title: str) -> str:
    """A folder uid from its title: Grafana allows 40 characters of ``[a-zA-Z0-9_-]``."""
    return re.sub(r"[^a-z0-9_-]+", "-", title.lower()).strip("-")[:40] or "streamscope"


class _Grafana:
    """grafana-client calls with Grafana's errors turned into :class:`PushError`."""

    def __init__(self, url: str, auth: str | tuple[str, str] | None, timeout: float) -> None:
        try:
            from grafana_client import GrafanaApi
        except ImportError:  # the extra is not installed
            raise PushError("grafana push needs grafana-client: pip install 'streamscope[grafana]'") from None
        self.where = public_url(url)
        self._secrets = [s for s in (auth if isinstance(auth, tuple) else (auth,)) if s]
        self.api = GrafanaApi.from_url(self.where, credential=auth, timeout=timeout)

    def call(self, what: str, method: str, path: str, body: Json | None = None) -> Any:
        """``method path`` (below /api); None for a 404 on a GET."""
        from grafana_client.client import (
            GrafanaClientError,
            GrafanaException,
            GrafanaServerError,
            GrafanaUnauthorizedError,
        )

        run = getattr(self.api.client, method)
        try:
            return run(path, json=body) if body is not None else run(path)
        except GrafanaUnauthorizedError as exc:
            raise PushError(
                f"Grafana at {self.where} refused the credentials (401 {self._message(exc)}): "
                "check --token, or --user and --password"
            ) from None
        except GrafanaClientError as exc:
            if exc.status_code == 404 and method == "GET":
                return None
            raise PushError(f"Grafana refused to {what} ({exc.status_code} {self._message(exc)})") from None
        except GrafanaServerError as exc:
            raise PushError(f"Grafana failed to {what} ({exc.status_code} {self._message(exc)})") from None
        except (GrafanaException, OSError) as exc:  # requests' errors are OSErrors
            if isinstance(exc, TimeoutError) or type(exc).__name__.endswith("Timeout"):
                raise PushError(f"Grafana at {self.where} did not answer in time ({what})") from None
            raise PushError(f"Grafana at {self.where} is unreachable: {self._reason(exc)}") from None

    def _message(self, exc: Any) -> str:
        body = getattr(exc, "response", None)
        text = body.get("message") if isinstance(body, dict) else None
        return self._clean(str(text or exc.message or "").strip() or "no message")

    def _reason(self, exc: Exception) -> str:
        # urllib3 nests the OS error deep in its message; the errno sentence is the useful part.
        m = re.search(r"\[Errno -?\d+\][^'\")]*", str(exc))
        return self._clean(m.group(0).strip() if m else str(exc) or type(exc).__name__)

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text[:200]


def _same(existing: Json, desired: Json) -> bool:
    return all(existing.get(k) == v for k, v in desired.items())


def _push_datasource(g: _Grafana, ds: Datasource, force: bool) -> Change:
    found = g.call("read a datasource", "GET", f"/datasources/uid/{ds.uid}")
    if found is None:
        found = g.call("read a datasource", "GET", f"/datasources/name/{quote(ds.name, safe='')}")
    if found is None:
        g.call(f"create datasource {ds.name!r}", "POST", "/datasources", ds.body(with_password=True))
        return Change("datasource", ds.name, ds.uid, "created")
    password_set = ds.password is None or bool((found.get("secureJsonFields") or {}).get("password"))
    if not force and password_set and _same(found, ds.body(with_password=False)):
        return Change("datasource", ds.name, ds.uid, "unchanged")
    # PUT by the uid Grafana knows (a datasource of the same name gets our uid).
    g.call(
        f"update datasource {ds.name!r}",
        "PUT",
        f"/datasources/uid/{found['uid']}",
        ds.body(with_password=True),
    )
    return Change("datasource", ds.name, ds.uid, "updated")


def _push_folder(g: _Grafana, title: str) -> tuple[str, Change]:
    folders = g.call("list folders", "GET", "/folders") or []
    for f in folders:
        if f.get("title") == title:
            return f["uid"], Change("folder", title, f["uid"], "unchanged")
    uid = folder_uid(title)
    made = g.call(f"create folder {title!r}", "POST", "/folders", {"uid": uid, "title": title})
    uid = made.get("uid", uid) if isinstance(made, dict) else uid
    return uid, Change("folder", title, uid, "created")


def _comparable(dash: Json) -> Json:
    return {k: v for k, v in dash.items() if k not in ("id", "version")}


def _push_dashboard(g: _Grafana, dash: Json, folder: str, force: bool) -> Change:
    uid, title = dash["uid"], dash["title"]
    found = g.call(f"read dashboard {uid}", "GET", f"/dashboards/uid/{uid}")
    if found is not None and not force:
        same_folder = (found.get("meta") or {}).get("folderUid") == folder
        if same_folder and _comparable(found.get("dashboard") or {}) == _comparable(dash):
            return Change("dashboard", title, uid, "unchanged")
    body = {"dashboard": {**dash, "id": None}, "folderUid": folder, "overwrite": True, "message": MESSAGE}
    g.call(f"save dashboard {uid}", "POST", "/dashboards/db", body)
    return Change("dashboard", title, uid, "created" if found is None else "updated")


def push(
    url: str,
    *,
    token: str | None = None,
    user: str | None = None,
    password: str | None = None,
    folder: str = "streamscope",
    datasources: Sequence[Datasource] = (),
    dashboards: Sequence[Json] = (),
    force: bool = False,
    timeout: float = 10.0,
) -> list[Change]:
    """Create or update ``datasources``, the folder titled ``folder`` and ``dashboards`` (by uid) in
    the Grafana at ``url``; returns one :class:`Change` per object, in that order.

    Auth: ``token`` (Bearer; a service account token) or ``user``/``password`` (basic), or user info
    in ``url``. Raises :class:`PushError` when Grafana is unreachable, refuses the credentials (401),
    or refuses a write.
    """
    if token and user:
        raise PushError("give either --token or --user/--password, not both")
    if user and password is None:
        raise PushError("--user needs --password")
    auth: str | tuple[str, str] | None = token or ((user, password or "") if user else None)
    parts = urlsplit(url)
    if auth is None and parts.username:  # http://USER:PASSWORD@host:3000
        auth = (unquote(parts.username), unquote(parts.password or ""))
    g = _Grafana(url, auth, timeout)
    health = g.call("answer /api/health", "GET", "/health")
    if not isinstance(health, dict) or health.get("database") not in (None, "ok"):
        raise PushError(f"Grafana at {g.where} is not healthy: /api/health says {health!r}"[:300])
    changes = [_push_datasource(g, ds, force) for ds in datasources]
    folder_id, change = _push_folder(g, folder)
    changes.append(change)
    changes += [_push_dashboard(g, d, folder_id, force) for d in dashboards]
    return changes
