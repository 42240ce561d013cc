"""Requests for single keys that wait for their upstream's turn travel together.

OpenAlex (``filter=doi:a|b|…``) and Crossref (``filter=doi:a,doi:b,…``) answer many DOIs in
one list request. A ``Batcher`` turns that into free throughput without adding latency:

* a lookup asks its upstream's ``FairLimiter`` for a turn, in its own requester's queue, so
  fairness between servers and users is unchanged;
* when the turn comes, the request carries its own key and every other key still waiting
  (up to ``max_size``, oldest first): alone when the upstream is idle (the single-record route,
  as before), fifty at a time in a burst. A member's turn carries only members' keys (never a
  re-check's or an import's); a bulk turn carries members' keys first;
* a lookup whose key another request carried gives its turn back unused (and its token, see
  ``FairLimiter.release(refund=True)``), so the rate budget counts requests, not keys.

The request runs in a task of its own: a caller that goes away (a cancelled interaction) never
leaves the keys it carried without an answer. A failed batch fails each of its keys, as their
own requests would have.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from bot.sources._http import SourceError, Upstream
from bot.sources.fairness import BULK, INTERACTIVE, current_requester

log = logging.getLogger(__name__)
V = TypeVar("V")

FetchOne = Callable[[str], Awaitable[Any]]
FetchMany = Callable[[Sequence[str]], Awaitable[dict[str, Any]]]


class _Entry:
    __slots__ = ("future", "key", "priority")

    def __init__(self, key: str, future: asyncio.Future[Any], priority: int) -> None:
        self.key = key
        self.future = future
        self.priority = priority


def _consume(future: asyncio.Future[Any]) -> None:
    """Nobody may be left to read a carried key's failure: mark it read."""
    if not future.cancelled():
        future.exception()


class Batcher(Generic[V]):
    """Single-key lookups on ``up`` that share requests while they wait (module docstring).

    ``fetch_one(key)`` and ``fetch_many(keys)`` send one request holding a limiter slot the
    batcher already acquired (they pass ``acquired=True`` to the upstream); ``fetch_many``
    answers ``{key: value}``, keys it lacks being unknown (``None``), an exception as a value
    failing that key alone. Keys for which
    ``batchable(key)`` is false always go alone.
    """

    def __init__(
        self,
        up: Upstream,
        fetch_one: FetchOne,
        fetch_many: FetchMany,
        *,
        max_size: int,
        batchable: Callable[[str], bool] = lambda key: True,
    ) -> None:
        self.up = up
        self.fetch_one = fetch_one
        self.fetch_many = fetch_many
        self.max_size = max_size
        self.batchable = batchable
        self._waiting: OrderedDict[int, _Entry] = OrderedDict()
        self._sending: set[asyncio.Future[None]] = set()
        self.requests = 0  # sent, for tests and benchmarks
        self.returned = 0  # turns given back unused (their key travelled with another)

    async def get(self, key: str) -> V | None:
        limiter = self.up.limiter
        if not self._waiting and not limiter.active and limiter.try_acquire():
            # An idle upstream: the key goes at once, alone, from the caller's own task (a
            # cold card's bibliographic request leaves before its other sources' requests,
            # not a few turns of the loop after them). A burst's first key goes so too; the
            # keys that arrive while it is in flight share the next turns.
            self.requests += 1
            return await self.fetch_one(key)
        loop = asyncio.get_running_loop()
        entry = _Entry(key, loop.create_future(), current_requester().priority)
        entry.future.add_done_callback(_consume)
        turn = asyncio.ensure_future(limiter.acquire())
        self._waiting[id(entry)] = entry
        try:
            await asyncio.wait({turn, entry.future}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self._waiting.pop(id(entry), None)
            self._give_back(turn)
            raise
        if turn.done() and not turn.cancelled() and turn.exception() is None:
            if self._waiting.pop(id(entry), None) is not None:
                self._send(self._take(entry))
            else:  # another request carried this key: the turn was not needed
                self.returned += 1
                limiter.release(refund=True)
        else:
            self._give_back(turn)
        return await asyncio.shield(entry.future)

    def _give_back(self, turn: asyncio.Future[None]) -> None:
        if not turn.done():
            turn.cancel()  # FairLimiter.acquire releases a slot granted as it is cancelled
        elif not turn.cancelled() and turn.exception() is None:
            self.returned += 1
            self.up.limiter.release(refund=True)

    def _take(self, first: _Entry) -> list[_Entry]:
        """``first`` and the oldest waiting keys that can share its request: a member's turn
        carries only other members' keys (a bulk key would make their answer a bigger body,
        slower to send and to read), a bulk turn carries members' keys first, then bulk."""
        batch = [first]
        if not self.batchable(first.key):
            return batch
        levels = (INTERACTIVE,) if first.priority == INTERACTIVE else (INTERACTIVE, BULK)
        for level in levels:
            for ident, entry in list(self._waiting.items()):
                if len(batch) >= self.max_size:
                    return batch
                if min(entry.priority, BULK) == level and self.batchable(entry.key):
                    del self._waiting[ident]
                    batch.append(entry)
        return batch

    def _send(self, batch: list[_Entry]) -> None:
        task = asyncio.ensure_future(self._request(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _request(self, batch: list[_Entry]) -> None:
        self.requests += 1
        keys = list(dict.fromkeys(e.key for e in batch))
        try:
            if len(keys) == 1:
                answers = {keys[0]: await self.fetch_one(keys[0])}
            else:
                answers = await self.fetch_many(keys)
        except Exception as exc:  # each key fails as its own request would have
            for entry in batch:
                if not entry.future.done():
                    entry.future.set_exception(exc)
            return
        except BaseException:  # cancelled (shutdown): the keys' callers are cancelled too
            for entry in batch:
                entry.future.cancel()
            raise
        for entry in batch:
            if entry.future.done():
                continue
            answer = answers.get(entry.key)
            if isinstance(answer, Exception):  # that key's own failure (a hostile record)
                entry.future.set_exception(answer)
            else:
                entry.future.set_result(answer)


# A bulk list answer of at least this many records is parsed in a worker process.
WORKER_RECORDS = 5
# A member's list answer (their burst of cold cards) of at least this many records too, in the
# interactive worker: twenty Crossref records parsed on the loop stall it for tens of ms, and
# every other member's card with it (``bench/load.py --why``). Fewer are parsed where they
# land: a worker's round trip would cost a small batch more than it saves.
INTERACTIVE_WORKER_RECORDS = 10
# A record that broke its parser, as a worker reports it (the caller makes it that source's
# failure for that key: ``Upstream.unexpected``).
UNEXPECTED = "unexpected"


def in_worker(up: Upstream, keys: Sequence[str]) -> bool:
    """Whether a list request for ``keys`` is parsed in a worker process, when the upstream
    has them: a bulk turn's (a re-check, an import) with a few records or more, in a bulk
    worker at its lower CPU priority, so a member's card is not queued behind a re-check's
    parsing (``bench/watch.py``); a member's with many (``INTERACTIVE_WORKER_RECORDS``), in the
    interactive worker. The event loop then only moves bytes."""
    if up.cpu is None:
        return False
    member = current_requester().priority == INTERACTIVE
    return len(keys) >= (INTERACTIVE_WORKER_RECORDS if member else WORKER_RECORDS)


async def parsed_in_worker(
    up: Upstream, path: str, params: dict[str, str], parse: Callable[..., Any], *args: Any
) -> Any:
    """GET ``path`` and ``parse(body, *args, max_depth)`` in a worker: the interactive one for
    a member's request, a bulk one otherwise. A body the worker cannot read is this source's
    failure, as on the loop."""
    assert up.cpu is not None
    heavy = current_requester().priority != INTERACTIVE
    body = await up.get_bytes(path, params, acquired=True)
    if body is None:  # a list answers 200 even when empty: 404 is a failure
        raise up.unexpected(path)
    try:
        return await up.cpu(parse, body, *args, up.max_depth, heavy=heavy)
    except ValueError as exc:
        log.warning("%s: unusable list body for %s: %s", up.name, path, str(exc)[:200])
        raise up.unexpected(path) from exc
    except Exception as exc:  # the worker itself failed (a crash): this request failed
        log.warning("%s: could not parse the list body of %s: %r", up.name, path, exc)
        raise SourceError(up.name, "unusable response") from exc


# DOIs whose characters no list filter syntax reads (OpenAlex splits on ``|`` and ``,``,
# Crossref on ``,``; ``:`` and ``;`` appear in SICI DOIs): anything else is asked alone.
_PLAIN_DOI = re.compile(r"10\.\d{4,9}/[-._()/A-Za-z0-9]+\Z")


def batchable_doi(doi: str) -> bool:
    return bool(_PLAIN_DOI.match(doi))


def batcher(up: Upstream, kind: str, make: Callable[[], Batcher[Any]]) -> Batcher[Any]:
    """The upstream's batcher for ``kind``, made on first use."""
    found = up.batchers.get(kind)
    if found is None:
        found = up.batchers[kind] = make()
    return found
