"""Errors shown to people. Every message is in Simplified Chinese and says what to fix."""

from __future__ import annotations


class TrackerError(Exception):
    """An error whose message is meant for the person at the keyboard (exit status 1 in the CLI)."""

    exit_code: int = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(TrackerError):
    """Something asked for by its id that does not exist, or not for the one asking (HTTP 404)."""


class Forbidden(TrackerError):
    """Something the one asking may see exists but is not theirs to have (HTTP 403)."""
