"""Twitch protocol support: the chat IRC dialect (:mod:`streamscope.twitch.irc`)."""
