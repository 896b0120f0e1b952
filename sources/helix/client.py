"""A Helix client with an app access token: client credentials, rate-limit pacing, retries.

Contract:
* The app token comes from ``POST {auth_url}/token`` with ``grant_type=client_credentials`` and is
  fetched again ``refresh_margin_s`` before it expires, and at once when Helix answers 401 (the
  request is then repeated once with the new token).
* Before every request the client waits what :class:`~streamscope.sources.helix.ratelimit.RateLimit` says;
  every answer updates it from the ``Ratelimit-*`` headers.
* 429 waits until ``Ratelimit-Reset``; 5xx and connection errors are retried with exponential
  backoff capped at ``max_backoff_s``; after ``max_attempts`` tries :class:`HelixError` is raised.
  Other 4xx raise :class:`HelixError` at once with Twitch's error message.
* The client secret and the token never appear in logs or error messages (``SecretStr``, and
  errors quote only Twitch's error body).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from streamscope.sources.helix.clock import WALL_CLOCK, Clock
from streamscope.sources.helix.ratelimit import RateLimit
from streamscope.twitch.helix import parse_error

log = logging.getLogger(__name__)

_SECRET_PARAM = re.compile(r"(client_secret=)[^&\s\"]*")


class _RedactClientSecret(logging.Filter):
    """httpx logs each request's URL at INFO; the token request carries ``client_secret`` in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("client_secret=" in str(a) for a in record.args):
            record.args = tuple(
                _SECRET_PARAM.sub(r"\1[redacted]", str(a)) if "client_secret=" in str(a) else a
                for a in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_RedactClientSecret())


class HelixError(RuntimeError):
    """A Helix or OAuth request failed for good; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class HelixResponse:
    status: int
    body: bytes
    received_at: float
    """Clock time (epoch seconds) the answer arrived."""


@dataclass(slots=True)
class HelixStats:
    requests: int = 0
    token_fetches: int = 0
    retries: int = 0
    rate_limited: int = 0
    """429 answers received."""
    paced_s: float = 0.0
    """Seconds spent waiting for the rate limit."""


class HelixClient:
    """Helix over one ``httpx.AsyncClient``; use as ``async with`` or call :meth:`aclose`."""

    def __init__(
        self,
        client_id: str,
        client_secret: SecretStr,
        *,
        helix_url: str,
        auth_url: str,
        clock: Clock = WALL_CLOCK,
        timeout_s: float = 10.0,
        max_attempts: int = 6,
        max_backoff_s: float = 30.0,
        refresh_margin_s: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client_id = client_id
        self._secret = client_secret
        self._helix = helix_url.rstrip("/")
        self._auth = auth_url.rstrip("/")
        self._clock = clock
        self._attempts = max_attempts
        self._max_backoff = max_backoff_s
        self._margin = refresh_margin_s
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)
        self._token: SecretStr | None = None
        self._expires_at = 0.0
        self.rate = RateLimit()
        self.stats = HelixStats()

    async def __aenter__(self) -> HelixClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _fetch_token(self) -> SecretStr:
        params = {
            "client_id": self._client_id,
            "client_secret": self._secret.get_secret_value(),
            "grant_type": "client_credentials",
        }
        try:
            # Query parameters: Twitch takes them in the query or a form body, twitch-cli's mock
            # only in the query. httpx's request log line is redacted by _RedactClientSecret.
            response = await self._http.post(f"{self._auth}/token", params=params)
        except httpx.HTTPError as exc:
            raise HelixError(0, f"token request to {self._auth} failed: {type(exc).__name__}") from None
        self.stats.token_fetches += 1
        if response.status_code != 200:
            error = parse_error(response.status_code, response.content)
            raise HelixError(response.status_code, f"app token refused: {error}")
        try:
            doc = response.json()
            token, expires_in = doc["access_token"], float(doc.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise HelixError(response.status_code, "token response without access_token") from None
        self._token = SecretStr(str(token))
        self._expires_at = self._clock.now() + expires_in
        return self._token

    async def token(self) -> SecretStr:
        """The app token, fetched when missing or within ``refresh_margin_s`` of expiry."""
        if self._token is None or self._clock.now() >= self._expires_at - self._margin:
            return await self._fetch_token()
        return self._token

    async def get(self, path: str, params: Sequence[tuple[str, str]]) -> HelixResponse:
        """``GET {helix_url}{path}`` paced and retried as in the module contract; 200 only."""
        delay = 0.5
        refreshed = False
        last = "no attempt"
        for attempt in range(1, self._attempts + 1):
            wait = self.rate.delay(self._clock.now())
            if wait > 0:
                self.stats.paced_s += wait
                await self._clock.sleep(wait)
            token = await self.token()
            headers = {"Client-Id": self._client_id, "Authorization": f"Bearer {token.get_secret_value()}"}
            self.rate.spend()
            self.stats.requests += 1
            try:
                response = await self._http.get(f"{self._helix}{path}", params=list(params), headers=headers)
            except httpx.HTTPError as exc:
                last = f"no answer ({type(exc).__name__})"
            else:
                status = response.status_code
                if status == 200:
                    self.rate.update(response.headers)
                    return HelixResponse(status, response.content, self._clock.now())
                error = parse_error(status, response.content)
                last = str(error)
                if status == 401 and not refreshed:
                    # Expired or revoked token: get a new one and repeat at once (not an attempt).
                    log.info("helix answered 401 (%s); fetching a new app token", error.message)
                    self._token, refreshed = None, True
                    continue
                if status == 429:
                    self.stats.rate_limited += 1
                    self.rate.exhausted(response.headers)
                    if self.rate.delay(self._clock.now()) <= 0:  # no usable Reset header: back off
                        await self._backoff(delay)
                        delay = min(delay * 2, self._max_backoff)
                    self.stats.retries += 1
                    continue
                if status < 500:
                    raise HelixError(status, f"helix GET {path}: {error}")
                self.rate.update(response.headers)
            if attempt < self._attempts:
                self.stats.retries += 1
                log.warning("helix GET %s: %s; retrying in %.1fs", path, last, delay)
                await self._backoff(delay)
                delay = min(delay * 2, self._max_backoff)
        raise HelixError(0, f"helix GET {path} failed after {self._attempts} attempts: {last}")

    async def _backoff(self, seconds: float) -> None:
        await self._clock.sleep(seconds)
