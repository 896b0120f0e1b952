"""USERNOTICE: subs, resubs, gifts, raids, rituals, announcements, milestones and the rest.

Every ``msg-id`` decodes to the same :class:`Usernotice`; msg-ids this module does not know still
decode (``known`` is False) because Twitch adds new ones without notice.
"""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.twitch.irc.fields import channel_of, emote_positions, int_or_none, parse_badges
from streamscope.twitch.irc.message import IrcMessage

KNOWN_MSG_IDS = frozenset(
    {
        "sub", "resub", "subgift", "submysterygift", "anonsubgift", "anonsubmysterygift",
        "giftpaidupgrade", "anongiftpaidupgrade", "primepaidupgrade", "communitypayforward",
        "standardpayforward", "raid", "unraid", "ritual", "bitsbadgetier", "rewardgift",
        "announcement", "sharedchatnotice", "viewermilestone", "socialsharingbadge", "modiversary",
        "onetapgiftredeemed", "charitydonation",
    }
)  # fmt: skip

_PARAM = "msg-param-"


@dataclass(slots=True)
class Usernotice:
    """A channel notice about a user. ``params`` maps msg-param-* names *without* the prefix
    (``cumulative-months``, ``recipient-id``, ...) to unescaped values, in wire order.
    ``text`` is the user's own message (empty when none); ``system_msg`` is Twitch's wording.
    """

    channel: str
    msg_id: str
    login: str
    user_id: int | None
    display_name: str
    system_msg: str
    text: str
    message_id: str | None
    room_id: int | None
    sent_ts: int | None
    params: dict[str, str]
    msg: IrcMessage

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Usernotice:
        tags = msg.tags
        params = {k[10:]: v for k, v in tags.items() if k.startswith(_PARAM)}
        p = msg.params
        return cls(
            channel_of(p[0]) if p else "",
            tags.get("msg-id", ""),
            tags.get("login", ""),
            int_or_none(tags.get("user-id")),
            tags.get("display-name", ""),
            tags.get("system-msg", ""),
            p[1] if len(p) > 1 else "",
            tags.get("id"),
            int_or_none(tags.get("room-id")),
            int_or_none(tags.get("tmi-sent-ts")),
            params,
            msg,
        )

    @property
    def known(self) -> bool:
        return self.msg_id in KNOWN_MSG_IDS

    @property
    def badges(self) -> list[tuple[str, str]]:
        return parse_badges(self.msg.tags.get("badges"))

    @property
    def emotes(self) -> list[tuple[str, int, int]]:
        return emote_positions(self.msg.tags.get("emotes"))

    @property
    def cumulative_months(self) -> int | None:
        return int_or_none(self.params.get("cumulative-months") or self.params.get("months"))

    @property
    def recipient(self) -> tuple[int | None, str, str] | None:
        """``(user_id, login, display_name)`` of a gift recipient, if this notice has one."""
        p = self.params
        if "recipient-id" not in p and "recipient-user-name" not in p:
            return None
        login = p.get("recipient-user-name") or p.get("recipient-name", "")
        return int_or_none(p.get("recipient-id")), login, p.get("recipient-display-name", "")

    @property
    def viewer_count(self) -> int | None:
        """Raid size (``msg-param-viewerCount``)."""
        return int_or_none(self.params.get("viewerCount"))

    @property
    def shared_chat_msg_id(self) -> str | None:
        """For ``sharedchatnotice``: the msg-id of the notice in the source channel."""
        return self.msg.tags.get("source-msg-id")
