"""Reference cycles that discord.py objects keep, broken once the objects are done with.

A cycle is freed only by the garbage collector, which runs on the event loop: objects freed
when their last reference goes cost nothing there. A card's view (~40 objects and a future)
and an answered interaction (its member, user, options) each made such a cycle; in a burst,
one young collection freed thousands of them at once (15-20 ms that every card in flight
waited through). These helpers let them go at the moment they are done.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import discord


def release_view(view: Any) -> bool:
    """Break a sent view's reference cycles when nothing will ever dispatch to the object
    (the view lists its items, each item names its view, a button wraps another).

    A view whose items are all ``DynamicItem`` buttons (dispatched by their custom ids, not
    through this object) or links is done with once sent: its items are cleared, and it is
    freed with its last reference. A view with a stateful item (its callback lives on the
    object) is kept as it is.
    """
    if not isinstance(view, discord.ui.View) or view.is_finished():
        return False
    if any(
        not isinstance(item, discord.ui.DynamicItem) and item.is_dispatchable()
        for item in view.walk_children()
    ):
        return False
    view.clear_items()
    return True


def forget_response(interaction: discord.Interaction) -> None:
    """Break the one reference cycle an answered interaction keeps (it caches its
    ``InteractionResponse``, which points back at it), so the interaction, its member, user
    and options are freed when its task ends rather than in a garbage collection on the
    event loop. A later ``interaction.response`` would be a fresh one: call this only when
    nothing will answer it again (its command has finished)."""
    with contextlib.suppress(AttributeError):  # never asked for, or discord.py renamed it
        del interaction._cs_response


def let_go_when_done(interaction: discord.Interaction, rebuilt: Any = None) -> None:
    """Once the current task (a command's or a component's, started by discord.py for this
    interaction) is done, ``forget_response`` the interaction and clear ``rebuilt``: the view
    discord.py built from a message around a clicked dynamic item, for that click only (never
    a view the store keeps)."""
    task = asyncio.current_task()
    if task is None:
        return

    def done(_: asyncio.Task[Any]) -> None:
        if rebuilt is not None:
            rebuilt.clear_items()
        forget_response(interaction)

    task.add_done_callback(done)
