"""Every bad parameter is a 4xx with {"error": {"code", "message"}}; none is a 500."""

from __future__ import annotations

import pytest

from streamscope.query import cursor as cursors

OK = {"start": "2019-09-15T00:00:00Z", "end": "2019-09-16T00:00:00Z"}
CHAT = "/v1.0/71092938/chat"
GOOD_MSG_CURSOR = cursors.encode("messages", 1568505600501, "ca561310-6855-43b3-8325-3ea7418359a2")
GOOD_EVT_CURSOR = cursors.encode("events", 1568505600501, "ca561310-6855-43b3-8325-3ea7418359a2")


def _tamper(c: str) -> str:
    i = len(c) // 2
    return c[:i] + ("A" if c[i] != "A" else "B") + c[i + 1 :]


BAD = [
    # (path, params, status, code)
    ("/v1.0/abc/chat", OK, 400, "invalid_parameter"),
    ("/v1.0/0/chat", OK, 400, "invalid_parameter"),
    ("/v1.0/-5/chat", OK, 400, "invalid_parameter"),
    ("/v1.0/18446744073709551616/chat", OK, 400, "invalid_parameter"),
    ("/v1.0/1.5/chat", OK, 400, "invalid_parameter"),
    (CHAT, {"end": OK["end"]}, 400, "invalid_parameter"),
    (CHAT, {"start": OK["start"]}, 400, "invalid_parameter"),
    (CHAT, {**OK, "start": "yesterday"}, 400, "invalid_parameter"),
    (CHAT, {**OK, "start": "2019-13-45T00:00:00Z"}, 400, "invalid_parameter"),
    (CHAT, {**OK, "end": "2019-09-16T25:00:00"}, 400, "invalid_parameter"),
    (CHAT, {**OK, "start": ""}, 400, "invalid_parameter"),
    (CHAT, {**OK, "start": "1568505600"}, 400, "invalid_parameter"),
    (CHAT, {**OK, "end": "2019-09-14T00:00:00Z"}, 400, "invalid_parameter"),
    (CHAT, {**OK, "end": OK["start"]}, 400, "invalid_parameter"),
    (CHAT, {**OK, "limit": 0}, 400, "invalid_parameter"),
    (CHAT, {**OK, "limit": 101}, 400, "invalid_parameter"),
    (CHAT, {**OK, "limit": -1}, 400, "invalid_parameter"),
    (CHAT, {**OK, "limit": "ten"}, 400, "invalid_parameter"),
    (CHAT, {**OK, "after": "garbage"}, 400, "invalid_cursor"),
    (CHAT, {**OK, "after": ""}, 400, "invalid_cursor"),
    (CHAT, {**OK, "after": "%%%%"}, 400, "invalid_cursor"),
    (CHAT, {**OK, "after": "é" * 10}, 400, "invalid_cursor"),
    (CHAT, {**OK, "after": _tamper(GOOD_MSG_CURSOR)}, 400, "invalid_cursor"),
    (CHAT, {**OK, "after": GOOD_MSG_CURSOR[:-2]}, 400, "invalid_cursor"),
    (CHAT, {**OK, "after": GOOD_EVT_CURSOR}, 400, "invalid_cursor"),
    (CHAT, {**OK, "after": "A" * 5000}, 400, "invalid_cursor"),
    ("/v1.0/12345/chat", OK, 404, "unknown_channel"),
    ("/v1/channels/nobody/messages", {}, 404, "unknown_channel"),
    ("/v1/channels/99999/events", {}, 404, "unknown_channel"),
    ("/v1/channels/xqcow/messages", {"limit": 1001}, 400, "invalid_parameter"),
    ("/v1/channels/xqcow/messages", {"limit": 0}, 400, "invalid_parameter"),
    ("/v1/channels/xqcow/messages", {"start": "not a date"}, 400, "invalid_parameter"),
    ("/v1/channels/xqcow/messages", {"start": "2019-09-16", "end": "2019-09-15"}, 400, "invalid_parameter"),
    ("/v1/channels/xqcow/messages", {"cursor": _tamper(GOOD_MSG_CURSOR)}, 400, "invalid_cursor"),
    ("/v1/channels/xqcow/messages", {"cursor": GOOD_EVT_CURSOR}, 400, "invalid_cursor"),
    ("/v1/channels/xqcow/messages", {"q": ""}, 400, "invalid_parameter"),
    ("/v1/channels/xqcow/messages", {"q": "   "}, 400, "invalid_parameter"),
    ("/v1/channels/xqcow/messages", {"q": "x" * 201}, 400, "invalid_parameter"),
    ("/v1/channels/xqcow/messages", {"user": ""}, 400, "invalid_parameter"),
    ("/v1/channels/xqcow/messages", {"user": "99999999999999999999999"}, 400, "invalid_parameter"),
    ("/v1/channels/xqcow/events", {"kind": "nonsense"}, 400, "invalid_parameter"),
    ("/v1/channels/xqcow/events", {"kind": "timeout,bogus"}, 400, "invalid_parameter"),
    ("/v1/channels/xqcow/events", {"kind": ","}, 400, "invalid_parameter"),
    ("/v1/channels/xqcow/events", {"kind": "x'; DROP TABLE chat_events; --"}, 400, "invalid_parameter"),
    ("/v1/channels/xqcow/events", {"cursor": GOOD_MSG_CURSOR}, 400, "invalid_cursor"),
    ("/v1/channels/xqcow/events", {"limit": 5000}, 400, "invalid_parameter"),
    ("/no/such/route", {}, 404, "not_found"),
]


@pytest.fixture
def loaded(api, warehouse, load, xqcow_lines):
    load(warehouse, xqcow_lines)
    return api


@pytest.mark.parametrize(("path", "params", "status", "code"), BAD)
def test_bad_input_is_a_4xx_with_the_error_shape(loaded, path, params, status, code) -> None:
    r = loaded.get(path, params=params)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_error_message_names_the_parameter(loaded) -> None:
    assert loaded.get(CHAT, params={**OK, "limit": 500}).json()["error"]["message"].startswith("limit")
    assert loaded.get(CHAT, params={**OK, "start": "nope"}).json()["error"]["message"].startswith("start")
    assert loaded.get(CHAT, params={**OK, "after": "x"}).json()["error"]["message"].startswith("after")


def test_wrong_method_is_405_with_the_error_shape(loaded) -> None:
    r = loaded.post(CHAT, params=OK)
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_valid_cursor_from_elsewhere_still_pages(loaded) -> None:
    # A well-formed cursor is a position, not a session: it works with any window.
    r = loaded.get(CHAT, params={**OK, "after": GOOD_MSG_CURSOR, "limit": 1})
    assert r.status_code == 200
    assert r.json()["messages"][0]["message_id"] != "ca561310-6855-43b3-8325-3ea7418359a2"


def test_unexpected_failure_is_a_500_with_the_error_shape(warehouse) -> None:
    from fastapi.testclient import TestClient

    from streamscope.api import create_app
    from streamscope.settings import Settings

    app = create_app(Settings(), client=warehouse)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaboom")

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/boom")
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal_error", "message": r.json()["error"]["message"]}}
    assert "kaboom" not in r.text


# Ids are ASCII digits and nothing else: str.isdigit also accepts "²" (int() refuses it: a 500) and
# "१"/"١" (Devanagari/Arabic-Indic one, which int() read as channel 1). Anything else is a login,
# and a login is 1-25 of a-z, 0-9, _.
NOT_IDS_NOR_LOGINS = [
    ("/v1/channels/%C2%B2/messages", {}, "channel"),
    ("/v1/channels/%E0%A5%A7/messages", {}, "channel"),
    ("/v1/channels/%C2%B2/events", {}, "channel"),
    ("/v1/channels/%C2%B2/export", {}, "channel"),
    ("/v1/channels/%C2%B2/viewers", {}, "channel"),
    ("/v1/channels/%C2%B2/streams", {}, "channel"),
    ("/v1/channels/%C2%B2/streams/123", {}, "channel"),
    ("/v1/channels/x%20y/messages", {}, "channel"),
    ("/v1/channels/" + "a" * 26 + "/messages", {}, "channel"),
    ("/v1/channels/%C3%A9t%C3%A9/messages", {}, "channel"),
    ("/v1/channels/xqcow/messages", {"user": "²"}, "user"),
    ("/v1/channels/xqcow/messages", {"user": "١٢"}, "user"),
    ("/v1/channels/xqcow/messages", {"user": "a.b"}, "user"),
    ("/v1/channels/xqcow/events", {"user": "²"}, "user"),
    ("/v1/channels/xqcow/export", {"user": "²"}, "user"),
]


@pytest.mark.parametrize(("path", "params", "name"), NOT_IDS_NOR_LOGINS)
def test_a_value_neither_id_nor_login_is_a_400_naming_it(loaded, path, params, name) -> None:
    r = loaded.get(path, params=params)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_parameter"
    assert r.json()["error"]["message"].startswith(f"{name}: ")


def test_logins_and_ids_in_their_accepted_spellings_still_resolve(loaded) -> None:
    for channel in ("xqcow", "XQCow", "%23xqcow", "71092938"):
        r = loaded.get(f"/v1/channels/{channel}/messages", params={"limit": 1})
        assert r.status_code == 200, (channel, r.text)
    by_login = loaded.get("/v1/channels/xqcow/messages", params={"user": "@Onche", "limit": 1}).json()
    assert by_login["messages"] and by_login["messages"][0]["user"]["login"] == "onche"


def test_malformed_json_body_says_so_readably(api) -> None:
    r = api.post("/download", content=b"{bad", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"] == {
        "code": "invalid_parameter",
        "message": "body: not valid JSON (Expecting property name enclosed in double quotes at character 1)",
    }
    r = api.post("/download", content=b"[]", headers={"content-type": "application/json"})
    assert r.json()["error"]["message"].startswith("body: ")


def test_an_unexpected_failure_keeps_the_connection_alive(warehouse, serve) -> None:
    import httpx

    from streamscope.api import create_app
    from streamscope.settings import Settings

    app = create_app(Settings(), client=warehouse)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaboom")

    def local_port(response: httpx.Response) -> int | None:
        try:
            return int(response.extensions["network_stream"].get_extra_info("client_addr")[1])
        except OSError:  # the server already closed the connection: its socket is gone
            return None

    with httpx.Client(base_url=serve(app)) as client:
        bad = client.get("/boom")
        bad_port = local_port(bad)
        good = client.get("/healthz")
        good_port = local_port(good)
    assert bad.status_code == 500
    assert bad.json() == {
        "error": {"code": "internal_error", "message": "internal error; the server log has the details"}
    }
    assert good.status_code == 200
    # One client, one connection: uvicorn closes a connection whose app raised, and httpx would
    # silently open a new one for the second request.
    assert bad_port is not None and good_port == bad_port
