"""Typed events decoded from specific real lines."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from streamscope.twitch.irc import UnknownCommand, decode, parse
from streamscope.twitch.irc.clearchat import Clearchat
from streamscope.twitch.irc.clearmsg import Clearmsg
from streamscope.twitch.irc.control import Cap, Hosttarget, Numeric, Ping
from streamscope.twitch.irc.fields import parse_emotes
from streamscope.twitch.irc.membership import EndOfNames, Join, Names, Part
from streamscope.twitch.irc.notice import Notice
from streamscope.twitch.irc.privmsg import Privmsg, ReplyParent, SharedChatSource
from streamscope.twitch.irc.roomstate import Roomstate
from streamscope.twitch.irc.usernotice import Usernotice
from streamscope.twitch.irc.userstate import GlobalUserstate, Userstate
from streamscope.twitch.irc.whisper import Whisper

Find = Callable[[str], str]


def privmsg(line: str) -> Privmsg:
    ev = decode(parse(line))
    assert isinstance(ev, Privmsg)
    return ev


def test_every_real_line_decodes(irc_files: dict[str, list[str]]) -> None:
    for lines in irc_files.values():
        for line in lines:
            decode(parse(line))


def test_action(find_line: Find) -> None:
    ev = privmsg(find_line("id=d831d848-b7c7-4559-ae3a-2cb88f4dbfed"))
    assert (ev.channel, ev.login, ev.text, ev.is_action) == ("pajlada", "randers", "-tags", True)
    assert (ev.user_id, ev.room_id, ev.sent_ts) == (40286300, 11148817, 1594555275886)
    assert ev.message_id == "d831d848-b7c7-4559-ae3a-2cb88f4dbfed"
    assert ev.badges == [("moderator", "1"), ("subscriber", "12")]
    assert ev.badge_info == [("subscriber", "22")]


def test_bits(find_line: Find) -> None:
    ev = privmsg(find_line("id=d7f03a35-f339-41ca-b4d4-7c0721438570"))
    assert (ev.text, ev.bits, ev.display_name, ev.badges) == ("trihard1", 1, "TETYYS", [("bits", "100")])


def test_reply(find_line: Find) -> None:
    ev = privmsg(find_line("id=9d74021f-375a-44f1-80e4-0dd58e64396a"))
    assert ev.text == "@nerixyz b"
    parent = ReplyParent("c6ff10fb-7eed-4326-b7ff-bf2b77b9b021", 129546453, "nerixyz", "nerixyz", "a")
    assert ev.reply_parent == parent
    assert ev.reply_thread_parent == ReplyParent(parent.message_id, 129546453, "nerixyz", "nerixyz", "")
    assert privmsg(find_line("id=d831d848-b7c7")).reply_parent is None


def test_shared_chat(find_line: Find) -> None:
    ev = privmsg(find_line("id=886028cc-9985-47b9-a273-8164c6d59a76"))
    assert (ev.text, ev.bits, ev.room_id) == ("Cheer1", 1, 11148817)  # written without ':' on the wire
    assert ev.source == SharedChatSource(
        1025594235,
        "eefbae4a-d3a1-4307-8d15-fab0f03fd9b9",
        [("staff", "1"), ("moderator", "1"), ("twitch-recap-2023", "1")],
        [],
        None,
    )


def test_first_msg_and_returning(find_line: Find) -> None:
    first = privmsg(find_line("id=7412fea4-8683-4cc9-a506-4228127a5c2d"))
    assert (first.first_msg, first.returning_chatter) == (True, False)


def test_emotes_with_non_bmp_text(find_line: Find) -> None:
    # U+1F449 is outside the BMP: positions are code points, not UTF-16 units.
    ev = privmsg(find_line("id=3695cb46-f70a-4d6f-a71b-159d434c45b5"))
    assert ev.text == "\U0001f449 <3 \U0001f449 <3 \U0001f449 <3"
    assert ev.emotes == [("483", 2, 3), ("483", 7, 8), ("483", 12, 13)]
    assert [e["text"] for e in parse_emotes(ev.msg.tags["emotes"], ev.text)] == ["<3", "<3", "<3"]
    # Leading U+E0000 and an emote id containing '/'.
    ev = privmsg(find_line("id=1ec936d3-7853-4113-9984-664ac5c42694"))
    assert parse_emotes(ev.msg.tags["emotes"], ev.text) == [
        {"id": "80481_/3", "start": 7, "end": 14, "text": "pajaW_/3"}
    ]


def test_emotes_sorted_by_position(find_line: Find) -> None:
    ev = privmsg(find_line("id=f9c5774b-faa7-4378-b1af-c4e08b532dc2"))
    emotes = parse_emotes(ev.msg.tags["emotes"], ev.text)
    assert [(e["id"], e["text"]) for e in emotes] == [
        ("25", "Kappa"), ("1902", "Keepo"), ("25", "Kappa"), ("25", "Kappa"), ("1902", "Keepo"),
        ("1902", "Keepo"), ("499", ":)"), ("499", ":)"), ("490", ":P"),
    ]  # fmt: skip


USERNOTICES = {
    "sub": ("327249bb-81bc-4f87-8b43-c05720a2dd64", "foly__", "foly__ subscribed at Tier 1.", ""),
    "resub": (
        "db25007f-7a18-43eb",
        "ronni",
        "ronni has subscribed for 6 months!",
        "Great stream -- keep it up!",
    ),
    "subgift": ("e9176cd8-5e22", "tww2", "TWW2 gifted a Tier 1 sub to Mr_Woodchuck!", ""),
    "submysterygift": ("049e6371-7023", "adamatreflectstudios", None, ""),
    "anonsubgift": ("b1818e3c-0005", "qa_subs_partner", None, ""),
    "giftpaidupgrade": ("7006f242-a45c", "crazycrackanimal", None, ""),
    "anongiftpaidupgrade": ("144ee636-0c1d", "samura1jack_ttv", None, ""),
    "raid": ("7299b7bc-61ce", "nerixyz", "2 raiders from nerixyz have joined!", ""),
    "unraid": ("06e33f48-c728", "fletchercodes", "The raid has been cancelled.", ""),
    "ritual": ("37feed0f-b9c7", "seventest1", "Seventoes is new here!", "HeyGuys"),
    "bitsbadgetier": ("d2b32a02-3071", "whoopiix", "bits badge tier notification", ""),
    "rewardgift": ("7f1336e4-f84a", "adamatreflectstudios", None, ""),
    "announcement": ("9045a344-75b9", "randers", "", None),
    "sharedchatnotice": ("01cd601f-bc3f", "lahoooo", "", "hi this is an announcement from 1"),
    "viewermilestone": ("12265c31-d7c1", "club_reg", None, ""),
    "socialsharingbadge": ("b468ef1c-f072", "gunny_q", "Unlocked a social sharing badge", None),
    "modiversary": ("090939a1-18a5", "jcrouzer", "has been a moderator for 18 months!", ""),
}


@pytest.mark.parametrize("msg_id", sorted(USERNOTICES))
def test_usernotice_msg_ids(msg_id: str, find_line: Find) -> None:
    needle, login, system_msg, text = USERNOTICES[msg_id]
    ev = decode(parse(find_line("id=" + needle)))
    assert isinstance(ev, Usernotice)
    assert (ev.msg_id, ev.login, ev.known) == (msg_id, login, True)
    if system_msg is not None:
        assert ev.system_msg == system_msg
    if text is not None:
        assert ev.text == text


def test_usernotice_params(find_line: Find) -> None:
    gift = decode(parse(find_line("id=e9176cd8-5e22")))
    assert isinstance(gift, Usernotice)
    assert gift.recipient == (89614178, "mr_woodchuck", "Mr_Woodchuck")
    assert gift.params["sub-plan-name"] == "House of Nyoro~n"
    raid = decode(parse(find_line("id=7299b7bc-61ce")))
    assert isinstance(raid, Usernotice) and raid.viewer_count == 2
    milestone = decode(parse(find_line("id=12265c31-d7c1")))
    assert isinstance(milestone, Usernotice)
    assert milestone.params == {
        "id": "8f04affa-bab5-4d50-81b9-40f97bff86bb", "value": "15", "category": "watch-streak",
        "copoReward": "450",
    }  # fmt: skip
    resub = decode(parse(find_line("id=c7ae5c7a-3007-4f9d-9e64-35219a5c1134")))
    assert isinstance(resub, Usernotice) and resub.cumulative_months == 1
    shared = decode(parse(find_line("id=01cd601f-bc3f")))
    assert isinstance(shared, Usernotice) and shared.shared_chat_msg_id == "announcement"


def test_unknown_usernotice_msg_id_still_decodes() -> None:
    ev = decode(parse("@msg-id=brandnew;login=a;system-msg=x\\sy :tmi.twitch.tv USERNOTICE #chan"))
    assert isinstance(ev, Usernotice)
    assert (ev.msg_id, ev.known, ev.system_msg, ev.channel) == ("brandnew", False, "x y", "chan")


def test_clearchat_kinds(find_line: Find) -> None:
    timeout = decode(parse(find_line("tmi-sent-ts=1594553828245")))
    ban = decode(parse(find_line("tmi-sent-ts=1594561360331")))
    clear = decode(parse(find_line("tmi-sent-ts=1594561392337")))
    assert isinstance(timeout, Clearchat) and isinstance(ban, Clearchat) and isinstance(clear, Clearchat)
    assert (timeout.kind, timeout.target_login, timeout.target_user_id, timeout.duration_s) == (
        "timeout", "fabzeef", 148973258, 1,
    )  # fmt: skip
    assert (ban.kind, ban.target_login, ban.target_user_id, ban.duration_s) == (
        "ban",
        "weeb123",
        70948394,
        None,
    )
    assert (clear.kind, clear.channel, clear.target_login, clear.room_id) == (
        "clear",
        "randers",
        "",
        40286300,
    )


def test_clearmsg(find_line: Find) -> None:
    ev = decode(parse(find_line("target-msg-id=15e5164d-f8e6-4aec-baf4-2d6a330760c4")))
    assert isinstance(ev, Clearmsg)
    assert (ev.channel, ev.login, ev.text, ev.is_action, ev.room_id) == (
        "pajlada",
        "randers",
        "test",
        True,
        None,
    )
    assert (ev.target_msg_id, ev.sent_ts) == ("15e5164d-f8e6-4aec-baf4-2d6a330760c4", 1594562632383)


def test_roomstate(find_line: Find) -> None:
    full = decode(parse(find_line("followers-only=10;")))
    assert full == Roomstate("randers", 40286300, True, 10, True, 5, True, full.msg)
    partial = decode(parse(find_line("@room-id=40286300;slow=5 ")))
    assert partial == Roomstate("randers", 40286300, None, None, None, 5, None, partial.msg)


def test_other_commands(find_line: Find) -> None:
    notice = decode(parse(find_line("NOTICE #tmijs :There are no moderators")))
    assert notice == Notice("tmijs", "no_mods", "There are no moderators of this channel.", notice.msg)
    us = decode(parse(find_line("emote-sets=0,75c09c7b")))
    assert isinstance(us, Userstate) and (us.channel, us.mod, us.emote_sets) == (
        "randers", True, ["0", "75c09c7b-332a-43ec-8be8-1d4571706155"],
    )  # fmt: skip
    gus = decode(parse(find_line("display-name=receivertest3\\s;")))
    assert isinstance(gus, GlobalUserstate) and (gus.user_id, gus.display_name) == (
        422021310,
        "receivertest3 ",
    )
    wh = decode(parse(find_line("WHISPER randers811")))
    assert isinstance(wh, Whisper)
    assert (wh.from_login, wh.to_login, wh.text, wh.thread_id) == (
        "randers", "randers811", "hello, this is a test Kappa", "40286300_553170741",
    )  # fmt: skip
    join = decode(parse(":justinfan57624!justinfan57624@justinfan57624.tmi.twitch.tv JOIN #riotgames"))
    assert join == Join("riotgames", "justinfan57624", join.msg)
    part = decode(parse(":randers811!randers811@randers811.tmi.twitch.tv PART #pajlada"))
    assert part == Part("pajlada", "randers811", part.msg)
    names = decode(parse(find_line("353 justinfan26682 = #pajlada :localaniki")))
    assert isinstance(names, Names) and names.channel == "pajlada" and len(names.logins) == 12
    eon = decode(parse(find_line("366 justinfan26682")))
    assert isinstance(eon, EndOfNames) and eon.channel == "pajlada"
    ping = decode(parse(":tmi.twitch.tv PING :a b c"))
    assert isinstance(ping, Ping) and ping.pong() == "PONG :a b c"
    cap = decode(parse(":tmi.twitch.tv CAP * ACK :twitch.tv/commands twitch.tv/tags"))
    assert isinstance(cap, Cap) and (cap.subcommand, cap.capabilities) == (
        "ACK", ["twitch.tv/commands", "twitch.tv/tags"],
    )  # fmt: skip
    num = decode(parse(":tmi.twitch.tv 001 justinfan12345 :Welcome, GLHF!"))
    assert num == Numeric("001", "justinfan12345", "Welcome, GLHF!", num.msg)
    host = decode(parse(":tmi.twitch.tv HOSTTARGET #randers :leebaxd 0"))
    assert isinstance(host, Hosttarget) and (host.target, host.viewers) == ("leebaxd", 0)
    unhost = decode(parse(":tmi.twitch.tv HOSTTARGET #randers :- 0"))
    assert isinstance(unhost, Hosttarget) and unhost.target is None


def test_unknown_command() -> None:
    with pytest.raises(UnknownCommand) as err:
        decode(parse("hello world"))
    assert err.value.command == "hello"
    assert err.value.reason == "unknown command 'hello'"
