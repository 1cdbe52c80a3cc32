"""The two error types every layer shares: a configuration that cannot be used, and one
input item that cannot be used (it carries its quarantine reason code)."""

from __future__ import annotations

from schemas.enums import Reason


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the field."""


class ItemError(ValueError):
    """One input item cannot be used (unreadable file, missing or absurd tag, grids that
    disagree): ``reason`` is the quarantine code, ``message`` names the file and field."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message
