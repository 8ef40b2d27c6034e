"""Failures of a data move that a user can act on."""

from __future__ import annotations

from edulink_db.errors import UserError


class DataMoveError(UserError):
    """A database could not be reached, or a table could not be copied and verified.

    Raised after the table's transaction was rolled back, so the message can promise that
    nothing of that table was kept.
    """
