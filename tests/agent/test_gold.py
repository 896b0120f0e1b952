"""The gold set: at least 40 questions whose reference SQL passes the guard and gives the committed
result on the demo recording; a dozen of those results re-derived from the raw lines by the tests'
own IRC reading (tests/oracle.py), so a wrong committed result cannot pass."""

from __future__ import annotations

from collections import Counter

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.agent import gold
from streamscope.agent.catalog import ANALYTIC_TABLES
from streamscope.agent.sql import SqlLimits, run
from streamscope.warehouse.shared import Warehouse
from tests.data import XQCOW
from tests.oracle import split_line

QUESTIONS = gold.load()


def test_gold_set_has_at_least_40_distinct_questions() -> None:
    assert len(QUESTIONS) >= 40
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS)
    assert len({q.question for q in QUESTIONS}) == len(QUESTIONS)


def test_reference_sql_gives_the_expected_result(demo: Client) -> None:
    warehouse = Warehouse(demo)
    wrong = []
    for q in QUESTIONS:
        result = run(warehouse, q.sql, ANALYTIC_TABLES, str(demo.database), SqlLimits(max_rows=500))
        if not gold.same_result(result.rows, q.expected, q.ordered):
            wrong.append((q.id, result.rows[:5], q.expected[:5]))
    assert wrong == []


def _lines() -> list[tuple[dict[str, str], str, str, list[str]]]:
    return [split_line(line) for line in XQCOW.read_text(encoding="utf-8").split("\n") if line]


def test_expected_results_match_the_recording() -> None:
    lines = _lines()
    msgs = {t["id"]: (t, nick, p[-1]) for t, nick, cmd, p in lines if cmd == "PRIVMSG"}
    by_user = Counter(t["user-id"] for t, _, _ in msgs.values())
    logins = Counter(nick for _, nick, _ in msgs.values())
    clear = [(t, p) for t, _, cmd, p in lines if cmd == "CLEARCHAT" and len(p) > 1]
    timeouts = [(t, p) for t, p in clear if t.get("ban-duration")]
    notices = Counter(t.get("msg-id") for t, _, cmd, _ in lines if cmd == "USERNOTICE")
    expected = {q.id: q.expected for q in QUESTIONS}
    assert expected["messages_total"] == [[len(msgs)]]
    assert expected["chatters_total"] == [[len(by_user)]]
    top_login, top_n = sorted(logins.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    assert expected["top_chatter"] == [[top_login, top_n]]
    assert expected["timeouts"] == [[len(timeouts)]]
    assert expected["bans"] == [[len(clear) - len(timeouts)]]
    assert expected["longest_timeout"] == [[max(int(t["ban-duration"]) for t, _ in timeouts)]]
    assert expected["subs"] == [[notices["sub"]]] and expected["resubs"] == [[notices["resub"]]]
    assert expected["bits_total"] == [[sum(int(t.get("bits") or 0) for t, _, _ in msgs.values())]]
    assert expected["one_message_users"] == [[sum(1 for n in by_user.values() if n == 1)]]
    assert expected["ten_plus_users"] == [[sum(1 for n in by_user.values() if n >= 10)]]
    assert expected["subscriber_messages"] == [
        [sum(1 for t, _, _ in msgs.values() if t.get("subscriber") == "1")]
    ]
    assert expected["question_messages"] == [[sum(1 for _, _, text in msgs.values() if text.endswith("?"))]]
    assert expected["distinct_timed_out"] == [[len({t["target-user-id"] for t, _ in timeouts})]]


@pytest.mark.parametrize(
    ("got", "want", "ordered", "same"),
    [
        ([[1, "a"], [2, "b"]], [[2, "b"], [1, "a"]], False, True),
        ([[1, "a"], [2, "b"]], [[2, "b"], [1, "a"]], True, False),
        ([[21.321]], [[21.32]], False, True),
        ([[1]], [[1], [1]], False, False),
        ([], [[0]], False, False),
    ],
)
def test_result_set_equality(
    got: list[list[object]], want: list[list[object]], ordered: bool, same: bool
) -> None:
    assert gold.same_result(got, want, ordered) is same
