"""The IRCv3 line: :func:`parse` one raw line into an :class:`IrcMessage`, and back.

Grammar (RFC 1459 + IRCv3 message tags)::

    ['@' tags SP] [':' prefix SP] command *(SP middle) [SP ':' trailing]

Hand-written with ``str.find``/``split`` (no regex): this runs once per chat line on the ingest hot
path. Every line Twitch sends, including oddly spaced ones seen in client test suites
(``:tmi.twitch.tv  PING``, ``PING ``), serializes back to the exact same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streamscope.twitch.irc.tags import escape_tag_value, parse_tags


class IrcParseError(ValueError):
    """A line that is not a well-formed IRC message; ``reason`` is one human-readable line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DecodeError(IrcParseError):
    """A well-formed IRC line whose command-specific shape is wrong (e.g. PRIVMSG without text)."""


class UnknownCommand(IrcParseError):
    """:func:`~streamscope.twitch.irc.events.decode` has no event type for this command."""

    def __init__(self, command: str) -> None:
        super().__init__(f"unknown command {command[:20]!r}")
        self.command = command


@dataclass(slots=True)
class IrcMessage:
    """One parsed IRC line. Treat as immutable.

    ``tags`` holds unescaped values in wire order. ``params`` includes the trailing parameter as its
    last item. The remaining fields exist so :meth:`serialize` is byte-exact:

    * ``last_colon``: the last param was written as ``:trailing`` (Twitch writes ``:`` even when not
      needed, e.g. ``:tmi.twitch.tv PING :tmi.twitch.tv``, and sometimes omits it).
    * ``raw_tags``: the tag section as sent (without ``@``). Unescaping is lossy for unknown escapes,
      a lone trailing backslash, keys without ``=`` and repeated keys; keeping the section is cheaper
      than detecting those. ``None`` means "build from ``tags``".
    * ``spacing``: ``None`` for the usual single spaces; otherwise the exact whitespace run after
      each token (tags, prefix, command, params), the last entry being trailing whitespace.
    """

    command: str
    params: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    prefix: str | None = None
    last_colon: bool = False
    raw_tags: str | None = None
    spacing: tuple[str, ...] | None = None

    @property
    def nick(self) -> str | None:
        """The prefix nickname (``nick`` of ``nick!user@host``), or the server name."""
        p = self.prefix
        if p is None:
            return None
        end = p.find("!")
        if end < 0:
            end = p.find("@")
        return p if end < 0 else p[:end]

    @property
    def user(self) -> str | None:
        """The prefix ``user`` part, if any."""
        p = self.prefix
        if p is None or "!" not in p:
            return None
        rest = p.partition("!")[2]
        return rest.partition("@")[0]

    @property
    def host(self) -> str | None:
        """The prefix ``host`` part, if any."""
        p = self.prefix
        if p is None or "@" not in p:
            return None
        return p.partition("@")[2]

    def _tokens(self) -> list[str]:
        tokens: list[str] = []
        if self.raw_tags is not None:
            tokens.append("@" + self.raw_tags)
        elif self.tags:
            tokens.append(
                "@" + ";".join(k + "=" + escape_tag_value(v) if v else k + "=" for k, v in self.tags.items())
            )
        if self.prefix is not None:
            tokens.append(":" + self.prefix)
        tokens.append(self.command)
        params = self.params
        if params:
            tokens.extend(params[:-1])
            last = params[-1]
            if self.last_colon or not last or " " in last or last[0] == ":":
                last = ":" + last
            tokens.append(last)
        return tokens

    def serialize(self) -> str:
        """Rebuild the wire line (no CRLF). For a parsed line this equals the input exactly."""
        tokens = self._tokens()
        spacing = self.spacing
        if spacing is None or len(spacing) != len(tokens):
            return " ".join(tokens)
        return "".join(t + s for t, s in zip(tokens, spacing, strict=True))


def _is_command(cmd: str) -> bool:
    # IRC commands are letters, or exactly three digits (numeric replies).
    return cmd.isascii() and (cmd.isalpha() or (len(cmd) == 3 and cmd.isdigit()))


def parse(line: str) -> IrcMessage:
    """Parse one raw IRC line (without CR/LF) into an :class:`IrcMessage`.

    Raises :class:`IrcParseError` for an empty line, a line holding CR/LF, tags or a prefix with
    no command after them, or a command that is not letters/three digits.
    """
    if not line:
        raise IrcParseError("empty line")
    pos = 0
    raw_tags: str | None = None
    tags: dict[str, str]
    if line[0] == "@":
        sp = line.find(" ")
        if sp < 0:
            raise IrcParseError("tags without a command")
        raw_tags = line[1:sp]
        tags = parse_tags(raw_tags)
        pos = sp + 1
    else:
        tags = {}
    prefix: str | None = None
    if line.startswith(":", pos):
        sp = line.find(" ", pos)
        if sp < 0:
            raise IrcParseError("prefix without a command")
        prefix = line[pos + 1 : sp]
        pos = sp + 1
    ci = line.find(" :", pos)
    if ci < 0:
        parts = line[pos:].split(" ")
        last_colon = False
    else:
        parts = line[pos:ci].split(" ")
        parts.append(line[ci + 2 :])
        last_colon = True
    command = parts[0]
    if not command or "" in parts[: len(parts) - last_colon] or line.startswith(" ", pos):
        # Irregular spacing (or nothing after the tags/prefix): take the slow, exact path.
        return _parse_spaced(line, raw_tags, tags)
    if not _is_command(command):
        raise IrcParseError(f"invalid command {command[:20]!r}")
    if "\n" in line or "\r" in line:
        raise IrcParseError("line contains CR/LF")
    return IrcMessage(command, tuple(parts[1:]), tags, prefix, last_colon, raw_tags)


def _parse_spaced(line: str, raw_tags: str | None, tags: dict[str, str]) -> IrcMessage:
    """Tokenize a line whose separators are not single spaces, recording each whitespace run."""
    n = len(line)
    spacing: list[str] = []

    def token_at(i: int) -> tuple[str, int]:
        j = line.find(" ", i)
        if j < 0:
            j = n
        k = j
        while k < n and line[k] == " ":
            k += 1
        spacing.append(line[j:k])
        return line[i:j], k

    i = 0
    if raw_tags is not None:
        i = token_at(0)[1]
    prefix: str | None = None
    if line.startswith(":", i):
        tok, i = token_at(i)
        prefix = tok[1:]
    if i >= n:
        raise IrcParseError("tags without a command" if prefix is None else "prefix without a command")
    command, i = token_at(i)
    if not _is_command(command):
        raise IrcParseError(f"invalid command {command[:20]!r}")
    if "\n" in line or "\r" in line:
        raise IrcParseError("line contains CR/LF")
    params: list[str] = []
    last_colon = False
    while i < n:
        if line[i] == ":":
            params.append(line[i + 1 :])  # the trailing param runs to the end of the line
            spacing.append("")
            last_colon = True
            break
        tok, i = token_at(i)
        params.append(tok)
    return IrcMessage(command, tuple(params), tags, prefix, last_colon, raw_tags, tuple(spacing))
