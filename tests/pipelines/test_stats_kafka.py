"""The stats dataflow in distributed mode with real processes: ``streamscope source replay`` → Apache
Kafka → ``streamscope up`` (chat + stats dataflows with Bytewax recovery), killed with SIGKILL while
the recording still flows, restarted; the 1-minute stats the API serves must then equal the oracle
over the recording (nothing lost, nothing counted twice)."""

from __future__ import annotations

import time

import httpx

from tests import stats_oracle
from tests.burst import lines_of
from tests.data import XQCOW
from tests.fixtures.stack import Stack, kill9

XQCOW_ID = 71092938
T0 = 1568505600000
DAY = "start=2019-09-15T00:00:00Z&end=2019-09-16T00:00:00Z"


def expected() -> list[dict[str, object]]:
    out = []
    for (_, at), w in sorted(stats_oracle.windows(lines_of(XQCOW), 60).items()):
        keys = ("messages", "chatters", "first_time_chatters", "actions", "replies", "emotes", "bits", "subs")
        point = {"at": at, **{k: w[k] for k in keys}}
        point |= {k: w[k] for k in ("new_subs", "resubs", "gift_subs", "raids", "raid_viewers", "timeouts")}
        point |= {k: w[k] for k in ("bans", "deletions", "clears")}
        point["avg_message_length"] = round(w["message_length_sum"] / w["messages"], 3)
        point["top_emotes"] = [{"name": n, "count": c} for n, c in w["top_emotes"]]
        out.append(point)
    return out


def test_stats_survive_kill_9_of_the_dataflows(stack: Stack) -> None:
    want = expected()
    up = stack.up()
    source = stack.source(XQCOW)
    stack.wait_stored(1500)
    kill9(up)
    assert source.poll() is None, "the source should still be publishing when the dataflows die"

    stack.up()
    assert source.wait(120) == 0, stack.logs()
    stack.wait_stored(4933)
    deadline = time.monotonic() + 90
    points: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        r = httpx.get(f"{stack.base}/v1/channels/xqcow/stats?step=1m&{DAY}", timeout=10)
        assert r.status_code == 200, r.text
        points = r.json()["points"]
        if points == want:
            break
        time.sleep(0.5)
    assert points == want, stack.logs()
