"""Fair shares of each upstream's rate budget: servers and users round-robin, bulk work last.

Every upstream has one ``FairLimiter``: a token bucket (``rate`` per second, bursts of
``burst``) and a cap on concurrent requests, as each API's etiquette asks. Who is asking comes
from a context variable, ``REQUESTER``, set once per Discord interaction (and inherited by the
tasks it starts, so single-flight lookups and late sources count for whoever started them):

* waiting requests are served **round-robin by server, then by user within a server**, so one
  member's burst of 500 lookups costs another server's lookup at most one turn per server;
* **bulk work** (imports, neighbourhood fills, background refreshes, the watch's re-checks)
  waits until no interactive request is waiting, and leaves a **reserve** untouched: one
  request slot (of two or more) and one token (of a burst of two or more). A member's lookup
  arriving in the middle of a 5,000-work re-check therefore finds a slot and a token at once,
  instead of waiting a round trip for a bulk request to finish (``bench/watch.py``).

The limiter does no I/O and knows nothing of Discord; it is tested with a fake clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace

INTERACTIVE, BULK = 0, 1


@dataclass(frozen=True, slots=True)
class Requester:
    """Who a request is for: a server (``g123``, ``dm``, ``cli``) and a user within it."""

    server: str = "local"
    user: str = "local"
    priority: int = INTERACTIVE


# Requester is frozen, so sharing one default instance is safe.
REQUESTER: ContextVar[Requester] = ContextVar("litbot_requester", default=Requester())  # noqa: B039


def current_requester() -> Requester:
    return REQUESTER.get()


@contextlib.contextmanager
def acting_for(server: str, user: str, *, priority: int = INTERACTIVE) -> Iterator[Requester]:
    """Requests made inside count against ``server``/``user``."""
    requester = Requester(server, user, priority)
    token = REQUESTER.set(requester)
    try:
        yield requester
    finally:
        REQUESTER.reset(token)


@contextlib.contextmanager
def bulk_work() -> Iterator[Requester]:
    """Requests made inside are bulk work of the current requester (imports, fills)."""
    requester = replace(REQUESTER.get(), priority=BULK)
    token = REQUESTER.set(requester)
    try:
        yield requester
    finally:
        REQUESTER.reset(token)


class FairQueue:
    """Waiting futures in fair order: the highest priority first, then round-robin by server,
    then by user within a server. A future already done (its waiter gave up) is skipped."""

    def __init__(self) -> None:
        # priority → server → user → waiting futures; OrderedDicts rotate for round-robin.
        self._levels: tuple[OrderedDict[str, OrderedDict[str, deque[asyncio.Future[None]]]], ...]
        self._levels = (OrderedDict(), OrderedDict())

    def push(self, requester: Requester, future: asyncio.Future[None]) -> None:
        users = self._levels[min(requester.priority, BULK)].setdefault(
            requester.server, OrderedDict()
        )
        users.setdefault(requester.user, deque()).append(future)

    def waiting(self) -> int:
        """Futures still waiting (not those whose waiter gave up)."""
        return sum(
            1
            for level in self._levels
            for users in level.values()
            for queue in users.values()
            for future in queue
            if not future.done()
        )

    def first_priority(self) -> int | None:
        """The highest priority with a future waiting (None: nobody waits)."""
        for priority, servers in enumerate(self._levels):
            for users in servers.values():
                for queue in users.values():
                    if any(not future.done() for future in queue):
                        return priority
        return None

    def pop(self) -> tuple[asyncio.Future[None], Requester] | None:
        """The next waiter: highest priority, then round-robin by server, then by user."""
        for priority, servers in enumerate(self._levels):
            while servers:
                server, users = next(iter(servers.items()))
                user, queue = next(iter(users.items()))
                while queue and queue[0].done():  # cancelled while waiting
                    queue.popleft()
                if not queue:
                    del users[user]
                    if not users:
                        del servers[server]
                    continue
                future = queue.popleft()
                if queue:
                    users.move_to_end(user)
                else:
                    del users[user]
                if users:
                    servers.move_to_end(server)
                else:
                    del servers[server]
                return future, Requester(server, user, priority)
        return None


class FairLimiter:
    """Token bucket plus concurrency cap, granting waiters fairly (see the module docstring)."""

    def __init__(
        self,
        rate: float,
        *,
        burst: int | None = None,
        concurrency: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.capacity = float(burst if burst is not None else max(1, int(rate)))
        self.concurrency = concurrency
        self.tokens = self.capacity
        self.active = 0
        self._clock = clock
        self._updated = clock()
        self._queue = FairQueue()
        self._timer: asyncio.TimerHandle | None = None
        self.granted: dict[str, int] = {}  # per server, for tests and the benchmark

    # -- accounting -------------------------------------------------------------------------

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._updated) * self.rate)
        self._updated = now

    def waiting(self) -> int:
        """Requests waiting for a turn (not those that gave up while waiting)."""
        return self._queue.waiting()

    def _limits(self, priority: int) -> tuple[int, float]:
        """(slots, tokens needed) for a request of ``priority``: bulk leaves the reserve."""
        if priority == INTERACTIVE:
            return self.concurrency, 1.0
        slots = self.concurrency - 1 if self.concurrency >= 2 else self.concurrency
        return slots, 2.0 if self.capacity >= 2 else 1.0

    def _grant(self, requester: Requester) -> None:
        self.tokens -= 1
        self.active += 1
        self.granted[requester.server] = self.granted.get(requester.server, 0) + 1

    # -- the queue --------------------------------------------------------------------------

    def _pump(self) -> None:
        while True:
            priority = self._queue.first_priority()
            if priority is None:
                return
            slots, needed = self._limits(priority)
            if self.active >= slots:
                return  # a release pumps again
            self._refill()
            if self.tokens < needed:
                # wake when the first in line can go (sooner than a bulk wake-up when a
                # member's request arrived since)
                loop = asyncio.get_running_loop()
                due = loop.time() + (needed - self.tokens) / self.rate
                if self._timer is not None and self._timer.when() > due + 1e-6:
                    self._timer.cancel()
                    self._timer = None
                if self._timer is None:
                    self._timer = loop.call_at(due, self._on_timer)
                return
            chosen = self._queue.pop()
            if chosen is None:
                return
            future, requester = chosen
            self._grant(requester)
            future.set_result(None)

    def _on_timer(self) -> None:
        self._timer = None
        self._pump()

    # -- the interface ----------------------------------------------------------------------

    def try_acquire(self) -> bool:
        """A turn now if one is free and nobody waits for one (``release()`` afterwards);
        False otherwise. No queueing and no await: a request of an idle upstream goes out in
        the same turn of the event loop as its caller."""
        requester = REQUESTER.get()
        slots, needed = self._limits(min(requester.priority, BULK))
        if self.active < slots and self._queue.first_priority() is None:  # nobody waits
            self._refill()
            if self.tokens >= needed:
                self._grant(requester)
                return True
        return False

    async def acquire(self) -> None:
        """Wait for a token and a slot, in fair order; ``release()`` afterwards."""
        requester = REQUESTER.get()
        if self.try_acquire():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.push(requester, future)
        self._pump()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # granted, but the caller went away before using it: slot and token back
                self.release(refund=True)
            raise

    def release(self, *, refund: bool = False) -> None:
        """Free the slot; ``refund`` gives the token back too (the request was never sent,
        e.g. a batched key another request carried)."""
        self.active -= 1
        if refund:
            self.tokens = min(self.capacity, self.tokens + 1)
        self._pump()
