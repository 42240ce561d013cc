"""Numbers read back from custom ids and select values: ours when we sent them, anyone's now.

A client can send any string back. A number that no row, page or member can have (not digits,
or past SQLite's signed 64-bit integers, which also hold every Discord snowflake) is refused
here with ``StaleComponent``, before it reaches the database (where it raised OverflowError).
"""

from __future__ import annotations

from bot.errors import StaleComponent

MAX_ID = 2**63 - 1
STALE = "This button or menu is no longer valid; run the command again."


def number(text: str, *, limit: int = MAX_ID) -> int:
    """``text`` as an int in 0..``limit``; ``StaleComponent`` otherwise."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(limit)):
        raise StaleComponent(STALE)
    value = int(text)
    if value > limit:
        raise StaleComponent(STALE)
    return value
