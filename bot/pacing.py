"""Turns on the event loop: a crowd of cold lookups starts over several passes, not in one.

asyncio runs every callback that is ready in one pass of its loop, and nothing else (a timer, a
Discord event, another member's card) runs until that pass ends. A hundred cold ``/paper`` at
once (one member's burst, or a busy server's) start a hundred lookups in the same pass; each
starts a request task per source, and those tasks' first steps (queueing at a limiter, joining
a batch, or building and sending a request) fall into the next pass together: five hundred
steps, 20–50 ms of the loop on this machine, during which nobody else's card can be answered.

``Pacer.turn()`` grants at most ``per_pass`` turns in one pass; later callers wait for the
passes after, served as the upstreams' rate limiters serve theirs (``bot.sources.fairness``):
members' lookups before bulk work, round-robin by server, then by user, so one member's burst
of a thousand costs another server's card a pass or two, not the burst. (A waiter granted its
turn in one pass continues in the next, beside that pass's own callers: a pass runs at most
twice ``per_pass`` turns, as the queue empties.) Uncrowded, a turn costs nothing (no
suspension), so a single card is never delayed; crowded, the crowd's work interleaves with
everything else a few milliseconds at a time. ``bench/load.py`` measures the loop's stalls.
"""

from __future__ import annotations

import asyncio

from bot.sources.fairness import REQUESTER, FairQueue

# Turns a pass: a cold lookup's start and its source tasks' first steps (limiter queues, batches,
# a request or two sent) cost ~0.5 ms of the loop together on this machine: ~4 ms a pass. A
# hundred cold cards then start over 13 passes instead of one (bench/load.py).
PER_PASS = 8


class Pacer:
    """At most ``per_pass`` turns in one pass of the running loop; the rest in fair order."""

    def __init__(self, per_pass: int = PER_PASS) -> None:
        if per_pass < 1:
            raise ValueError("per_pass must be at least 1")
        self.per_pass = per_pass
        self._granted = 0  # turns taken since the last pass began
        self._waiting = FairQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tick: asyncio.Handle | None = None

    def waiting(self) -> int:
        """Callers waiting for a turn (not those that gave up)."""
        return self._waiting.waiting()

    async def turn(self) -> None:
        """Return in this pass if the pass has turns left and nobody waits; else in a later one."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests run one each): nothing carries over
            self._loop, self._granted, self._tick = loop, 0, None
            self._waiting = FairQueue()
        if self._granted < self.per_pass and self._waiting.first_priority() is None:
            self._take()
            return
        future: asyncio.Future[None] = loop.create_future()
        self._waiting.push(REQUESTER.get(), future)
        self._arm()
        await future  # cancelled while waiting: _next_pass skips it

    def _take(self) -> None:
        self._granted += 1
        self._arm()

    def _arm(self) -> None:
        """Start the next pass's accounting: ``call_soon`` from this pass runs in the next."""
        if self._tick is None and self._loop is not None:
            self._tick = self._loop.call_soon(self._next_pass)

    def _next_pass(self) -> None:
        """A new pass: its turns go to the next waiters (who run in the pass after this)."""
        self._tick = None
        self._granted = 0
        while self._granted < self.per_pass and (chosen := self._waiting.pop()) is not None:
            chosen[0].set_result(None)
            self._take()
