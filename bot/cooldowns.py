"""Per-person and per-server limits on the expensive commands (imports, exports).

Pure: a sliding window of recent uses per key, an injectable clock, no I/O. ``take`` refuses
with ``Cooldown`` (its message says when to try again) or records the use; ``check`` only asks.
A use may cost more than one (an export of a long bibliography), never more than a window holds.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from bot.errors import Cooldown

SWEEP_EVERY = 1024  # uses between sweeps of idle keys, so memory follows the active users


@dataclass(frozen=True, slots=True)
class Limit:
    uses: int
    per: float  # seconds

    def period(self) -> str:
        minutes = self.per / 60
        if self.per % 60:
            return f"{self.per:g} seconds"
        return "minute" if minutes == 1 else f"{minutes:g} minutes"


@dataclass(frozen=True, slots=True)
class Policy:
    """What one action may cost: per person (across servers), and per owner (a server, or a
    person's DMs)."""

    noun: str  # "imports", for the messages
    user: Limit
    owner: Limit


# Imports parse up to 2 MiB (seconds of CPU) and may look up 5,000 identifiers upstream;
# exports format up to a whole bibliography (a 5,000-entry APA export is seconds of citeproc).
DEFAULT_POLICIES = {
    "import": Policy("imports", user=Limit(3, 60), owner=Limit(10, 600)),
    "export": Policy("exports", user=Limit(5, 60), owner=Limit(20, 60)),
}


class Cooldowns:
    def __init__(
        self,
        policies: dict[str, Policy] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policies = DEFAULT_POLICIES if policies is None else policies
        self.clock = clock
        self._uses: dict[tuple[str, str, Hashable], deque[tuple[float, int]]] = {}
        self._since_sweep = 0

    def check(self, action: str, user: Hashable, owner: Hashable, cost: int = 1) -> None:
        """``Cooldown`` if ``action`` would be refused now; records nothing."""
        self._verdict(action, user, owner, cost)

    def take(self, action: str, user: Hashable, owner: Hashable, cost: int = 1) -> None:
        """Record one use of ``action`` costing ``cost``, or refuse it with ``Cooldown``."""
        now = self._verdict(action, user, owner, cost)
        policy = self.policies.get(action)
        if policy is None:
            return
        for who, key, limit in (("user", user, policy.user), ("owner", owner, policy.owner)):
            uses = self._uses.setdefault((action, who, key), deque())
            uses.append((now, min(cost, limit.uses)))
        self._since_sweep += 1
        if self._since_sweep >= SWEEP_EVERY:
            self._sweep(now)

    def _verdict(self, action: str, user: Hashable, owner: Hashable, cost: int) -> float:
        now = self.clock()
        policy = self.policies.get(action)
        if policy is None:
            return now
        waits = []
        for who, key, limit in (("user", user, policy.user), ("owner", owner, policy.owner)):
            wait = self._wait((action, who, key), limit, min(cost, limit.uses), now)
            if wait > 0:
                waits.append((wait, who, limit))
        if waits:
            wait, who, limit = max(waits, key=lambda w: w[0])
            seconds = max(1, math.ceil(wait))
            if who == "user":
                said = f"You can make {limit.uses} {policy.noun} per {limit.period()}"
            else:
                said = f"Here, {limit.uses} {policy.noun} per {limit.period()} are allowed"
            raise Cooldown(f"{said}; try again in {seconds} s.", retry_after=wait)
        return now

    def _wait(self, key: tuple[str, str, Hashable], limit: Limit, cost: int, now: float) -> float:
        uses = self._uses.get(key)
        if not uses:
            return 0.0
        while uses and uses[0][0] <= now - limit.per:
            uses.popleft()
        over = sum(c for _, c in uses) + cost - limit.uses
        for at, c in uses:  # oldest first: the window frees room as they age out
            if over <= 0:
                break
            over -= c
            if over <= 0:
                return at + limit.per - now
        return 0.0

    def _sweep(self, now: float) -> None:
        self._since_sweep = 0
        for key in list(self._uses):
            policy = self.policies.get(key[0])
            per = max(policy.user.per, policy.owner.per) if policy else 0.0
            uses = self._uses[key]
            if not uses or uses[-1][0] <= now - per:
                del self._uses[key]
