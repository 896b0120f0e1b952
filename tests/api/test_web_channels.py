"""The web app's channels view in Chromium: every archived channel with live status, viewers now, chat
rate now, last seen and messages stored — the values the API gives for the same questions.

Besides the #xqcow recording (2019, offline now), a channel "nowchannel" is live: a session started an
hour ago, a viewer sample and a few messages from the last seconds (raw lines made here).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from streamscope.api import create_app
from streamscope.settings import Settings
from streamscope.warehouse.rows import SAMPLE_COLUMNS, STREAM_COLUMNS
from tests.api.conftest import load_lines
from tests.api.web import api, database, load_archive, open_tab, served
from tests.data import XQCOW

if TYPE_CHECKING:
    from playwright.sync_api import Browser

NOW_ID = 555000111
CHATTERS = ["alice_1", "bob_2", "alice_1"]
USER_IDS = {"alice_1": 9100001, "bob_2": 9100002}


def now_line(login: str, ts: int) -> str:
    return (
        f"@badge-info=;badges=;color=;display-name={login};emotes=;flags=;id={uuid.uuid4()};mod=0;"
        f"room-id={NOW_ID};subscriber=0;tmi-sent-ts={ts};turbo=0;user-id={USER_IDS[login]};user-type= "
        f":{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #nowchannel :hello from {login}"
    )


@pytest.fixture(scope="module")
def site(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database(warehouse_url) as client:
        load_archive(client, load_lines, XQCOW)
        now = int(time.time() * 1000)
        client.insert(
            "streams",
            [(NOW_ID, "nowchannel", "live1", now - 3_600_000, None, "", now - 20_000, 4242, 4242, 1, [], 1)],
            column_names=STREAM_COLUMNS,
        )
        client.insert(
            "viewer_samples",
            [(NOW_ID, "nowchannel", datetime.fromtimestamp((now - 20_000) / 1000, UTC), 4242, "live1",
              datetime.fromtimestamp((now - 3_600_000) / 1000, UTC), "1", "Chess", "t", "en", "helix")],
            column_names=SAMPLE_COLUMNS,
        )  # fmt: skip
        load_lines(client, [now_line(login, now - 3000 + i) for i, login in enumerate(CHATTERS)])
        app = create_app(Settings(jobs_dir=str(tmp_path_factory.mktemp("jobs"))), client=client)
        with served(app) as base:
            yield base


def test_channels_show_status_viewers_rate_last_seen_and_counts(browser: Browser, site: str) -> None:
    from playwright.sync_api import expect

    channels = api(site, "/v1/channels")["channels"]
    assert [c["login"] for c in channels] == ["nowchannel", "xqcow"]
    with open_tab(browser, f"{site}/#/") as tab:
        page = tab.page
        expect(page.locator("main[data-loaded=true]")).to_have_count(1, timeout=20_000)
        shown = page.locator("#channels tbody tr").evaluate_all(
            "trs => trs.map(tr => [...tr.children].slice(0, 6).map(c => c.textContent))"
        )
        checked = time.time() * 1000
        expected = []
        for c in channels:
            streams = api(site, f"/v1/channels/{c['login']}/streams", limit=1)["streams"]
            points = api(
                site,
                f"/v1/channels/{c['login']}/viewers",
                start=datetime.fromtimestamp((checked - 900_000) / 1000, UTC).isoformat(),
                step="1m",
            )["points"]
            recent = api(
                site,
                f"/v1/channels/{c['login']}/messages",
                start=datetime.fromtimestamp((checked - 60_000) / 1000, UTC).isoformat(),
                limit=1000,
            )["messages"]
            expected.append(
                [
                    f"#{c['login']}",
                    "live" if streams and streams[0]["live"] else "offline",
                    f"{round(points[-1]['avg']):,}" if points else "—",
                    str(len(recent)),
                    datetime.fromtimestamp(c["last_seen"] / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    f"{c['messages']:,}",
                ]
            )
        assert shown == expected
        # Independently of the API: what was inserted for the live channel, and the recording's size.
        assert shown[0][1:4] == ["live", "4,242", str(len(CHATTERS))]
        assert shown[1][1:4] == ["offline", "—", "0"] and shown[1][5] == "4,933"
        tab.screenshot("channels")
        assert tab.axe() == []

        page.get_by_role("link", name="#xqcow", exact=True).click()
        expect(page.locator("h1")).to_have_text("#xqcow live")
