"""CPU-bound work in worker processes, so the event loop never waits on the GIL.

citeproc, .bib parsing (pylatexenc), BibTeX writing and JSON decoding are pure Python: run in a
thread they hold the GIL, and the bot's event loop (Discord heartbeats, every other member's
command) stalls behind them. ``Workers`` runs them in other processes instead, in two pools:

- **interactive** (``heavy=False``): one citation, one abstract's key sentences, a style search
  or a style name to resolve. Small (a quarter of the cores, at least one) and never behind
  bulk work, so a member's ``/cite`` answers while another server exports 50,000 entries.
- **bulk** (``heavy=True``): exports, imports, citeproc over many entries. One process per core,
  at a lower CPU priority (``nice``) than the event loop and the interactive worker.

At most one heavy job per server runs at a time (``slot``): a server's second export waits for
its first (``wait=True``, the default: Discord interactions are deferred and may wait) or, with
``wait=False``, is refused at once with ``Busy``; more than ``MAX_WAITING`` waiting jobs for one
server are refused too, so one server cannot queue unbounded work. Other servers' jobs share the
bulk pool first come, first served; ``map`` keeps at most one job per bulk worker in flight, so
a long export's chunks interleave with other servers' work instead of queueing ahead of it.

Processes come from the ``forkserver`` context (``spawn`` where there is none): a new worker
never forks the running asyncio process (its threads and locks). The pools start on first use
and each worker is warmed as it starts (modules imported, the default style parsed; the
interactive one also reads the style registry); ``warm()`` starts them ahead of time. A worker
that dies (``BrokenProcessPool``: killed, out of memory, a crash in C) fails the jobs it was
running with ``WorkerCrashed`` and its pool is replaced, so later jobs run. The other way round,
a worker whose bot has gone (killed, crashed, stopped without closing its pools) exits as well:
otherwise it would wait for jobs forever, and keep the fork server alive with it.

``mode="thread"`` runs the same jobs in threads of this process (tests, scripts): arguments and
results still go through pickle, so what works here works across processes.

``terminal=True`` is for a one-shot terminal command (``litbot paper``, ``litbot cite``): its
event loop serves nobody else, so a light job runs right where it is asked for. Starting the
interactive worker for it (the fork server, its preloaded modules, the warm-up) costs seconds
for milliseconds of work. Heavy jobs (exports, imports) still go to the bulk processes.

Job functions must be module-level (pickled by reference) and their arguments and results must
pickle; an exception that pickle cannot rebuild (a custom ``__init__``) comes back with its
class, arguments and attributes restored all the same, or as ``WorkerError`` naming it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import copyreg
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Literal, TypeVar

from bot.errors import LitError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
Mode = Literal["process", "thread"]

MAX_WAITING = 4  # heavy jobs of one server waiting behind its running one; more are refused
BULK_NICE = 10  # the bulk workers' CPU priority below the bot's (Unix "nice" increment)
# Imported by the fork server once, so each new worker starts with them (forkserver only).
PRELOAD = ("bot.citations", "bot.exports", "bot.bibio", "bot.summaries", "bot.citing")


class Busy(LitError):
    """The server already runs a heavy job (an export, an import) and this one may not wait."""

    exit_code = 2


class WorkerCrashed(LitError):
    """The worker process running the job died; the pool has been replaced."""

    exit_code = 1


class WorkerError(Exception):
    """An exception raised in a worker that could not be sent back as itself."""


def pool_sizes(cpus: int | None = None) -> tuple[int, int]:
    """(interactive, bulk) worker counts for ``cpus`` cores: 1 and 2 on two cores."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = max(1, cpus or 1)
    return max(1, cpus // 4), cpus


# -- what runs in the worker ------------------------------------------------------------------


def _exit_with_parent() -> None:
    """Exit this worker when the process that started it ends (its sentinel becomes ready):
    a pool's workers otherwise block on their job queue for ever once the bot is gone."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="litbot-parent-watch", daemon=True).start()


def _warm(kind: str) -> None:
    """A worker's initializer: follow the bot out, lower the bulk workers' priority, import
    and parse what jobs need first (a failure here is logged by the job that needs it, not
    raised)."""
    _exit_with_parent()
    if kind == "bulk" and hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(BULK_NICE)
    try:
        from bot import citations, styles

        citations.style_engine("apa")  # the default style, parsed once per worker
        if kind == "interactive":
            styles.search_styles("a", 1)  # the registry and its search index
    except Exception:  # pragma: no cover - a broken install shows in the first real job
        log.exception("warming a %s worker failed", kind)


def _ready() -> int:
    return os.getpid()


def _rebuild_exception(cls: type[BaseException], args: tuple, state: dict) -> BaseException:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


def _reduce_exception(error: BaseException) -> tuple:
    return _rebuild_exception, (type(error), error.args, dict(error.__dict__))


def _round_trips(value: object) -> bool:
    try:
        pickle.loads(pickle.dumps(value))
    except Exception:
        return False
    return True


def _portable(error: BaseException) -> BaseException:
    """``error`` as something that survives pickle: itself, itself rebuilt without calling its
    ``__init__`` (``Cooldown(message, retry_after)``), or a ``WorkerError`` naming it."""
    if _round_trips(error):
        return error
    copyreg.pickle(type(error), _reduce_exception)  # this worker's pickler, from now on
    if _round_trips(error):
        return error
    return WorkerError(f"{type(error).__qualname__}: {error}")


def _call(fn: Callable[..., T], args: tuple) -> T:
    """Run a job in a worker; an exception comes back as itself where pickle allows."""
    try:
        return fn(*args)
    except BaseException as error:
        portable = _portable(error)
        if portable is error:
            raise
        raise portable from None


def _call_pickled(blob: bytes) -> bytes:
    """Thread mode: the job, its result and its exception through pickle, as between
    processes."""
    fn, args = pickle.loads(blob)
    try:
        return pickle.dumps(_call(fn, args))
    except BaseException as error:
        raise pickle.loads(pickle.dumps(error)) from None


# -- the pools --------------------------------------------------------------------------------


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(PRELOAD))
        return context
    return multiprocessing.get_context("spawn")


class _Pool:
    """One executor, replaced when a worker dies."""

    def __init__(self, kind: str, size: int, mode: Mode) -> None:
        self.kind, self.size, self.mode = kind, size, mode
        self._executor: Executor | None = None

    def executor(self) -> Executor:
        if self._executor is None:
            if self.mode == "thread":
                self._executor = ThreadPoolExecutor(self.size, f"litbot-{self.kind}")
            else:
                self._executor = ProcessPoolExecutor(
                    self.size, mp_context=_context(), initializer=_warm, initargs=(self.kind,)
                )
        return self._executor

    def starting(self, executor: Executor) -> bool:
        """Whether a job given to ``executor`` may start a worker process: a process pool
        starts its workers on demand, until it has ``size`` of them."""
        if not isinstance(executor, ProcessPoolExecutor):
            return False
        processes = getattr(executor, "_processes", None)
        return not isinstance(processes, dict) or len(processes) < self.size

    def replace(self, broken: Executor) -> None:
        """A new executor for the next jobs, unless another caller replaced it already."""
        if self._executor is broken:
            log.error("a %s worker process died; starting a new pool", self.kind)
            self._executor = None
            broken.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


class _Slot:
    """One server's heavy-job slot: a lock and how many wait for it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0


# The servers whose slot this task holds: a heavy job inside an export does not wait for the
# export's own slot.
_HELD: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "litbot_heavy_slots", default=frozenset()
)


class Workers:
    """The interactive and bulk pools; see the module docstring."""

    def __init__(
        self,
        *,
        mode: Mode = "process",
        interactive: int | None = None,
        bulk: int | None = None,
        max_waiting: int = MAX_WAITING,
        terminal: bool = False,
    ) -> None:
        default_interactive, default_bulk = pool_sizes()
        self.mode = mode
        self.terminal = terminal
        self._interactive = _Pool("interactive", interactive or default_interactive, mode)
        self._bulk = _Pool("bulk", bulk or default_bulk, mode)
        self.max_waiting = max_waiting
        self._slots: dict[str, _Slot] = {}
        self._closed = False

    @classmethod
    def inline(cls) -> Workers:
        """Threads of this process, arguments still pickled: tests and scripts."""
        return cls(mode="thread")

    @property
    def bulk_size(self) -> int:
        return self._bulk.size

    async def __aenter__(self) -> Workers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- running jobs -------------------------------------------------------------------------

    async def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        heavy: bool = False,
        server: str | None = None,
        wait: bool = True,
    ) -> T:
        """``fn(*args)`` in a worker: the bulk pool if ``heavy``, else the interactive one.

        With ``server`` (``"guild:123"``) a heavy job takes that server's slot first (waiting,
        or ``Busy`` without ``wait``). Raises what ``fn`` raised, ``WorkerCrashed`` if its
        worker died.
        """
        if heavy and server is not None:
            async with self.slot(server, wait=wait):
                return await self._submit(self._bulk, fn, args)
        return await self._submit(self._bulk if heavy else self._interactive, fn, args)

    async def map(
        self, fn: Callable[..., T], jobs: Iterable[tuple] | AsyncIterator[tuple], *, heavy: bool
    ) -> AsyncIterator[T]:
        """``fn(*args)`` for each ``args`` of ``jobs``, results in order, at most one job per
        worker of the pool in flight (memory stays bounded; other jobs interleave)."""
        pool = self._bulk if heavy else self._interactive

        async def started() -> AsyncIterator[asyncio.Future[T]]:
            async for args in _aiter(jobs):
                yield asyncio.ensure_future(self._submit(pool, fn, args))

        async for result in in_order(started(), pool.size):
            yield result

    @contextlib.asynccontextmanager
    async def slot(self, server: str, *, wait: bool = True) -> AsyncIterator[None]:
        """Hold ``server``'s heavy-job slot (re-entrant within one task and the tasks it
        starts). ``Busy`` when it is taken and ``wait`` is false, or too many already wait."""
        held = _HELD.get()
        if server in held:
            yield
            return
        slot = self._slots.setdefault(server, _Slot())
        if slot.lock.locked() and (not wait or slot.waiting >= self.max_waiting):
            raise Busy(
                "This server already has an export or import running; try again when it "
                "has finished."
            )
        slot.waiting += 1
        try:
            await slot.lock.acquire()
        finally:
            slot.waiting -= 1
        token = _HELD.set(held | {server})
        try:
            yield
        finally:
            _HELD.reset(token)
            slot.lock.release()
            if not slot.waiting and self._slots.get(server) is slot:
                del self._slots[server]

    def busy(self, server: str) -> bool:
        """Whether ``server`` has a heavy job running (its slot is held)."""
        slot = self._slots.get(server)
        return slot is not None and slot.lock.locked()

    async def _submit(self, pool: _Pool, fn: Callable[..., T], args: tuple) -> T:
        if self._closed:
            raise RuntimeError("the workers are closed")
        if self.terminal and pool is self._interactive:
            return fn(*args)
        loop = asyncio.get_running_loop()
        executor = pool.executor()
        try:
            if self.mode == "thread":
                blob = pickle.dumps((fn, args))
                return pickle.loads(await loop.run_in_executor(executor, _call_pickled, blob))
            if pool.starting(executor):
                # Starting a worker blocks the caller until the fork server has forked it (and
                # the first time, until the fork server has imported PRELOAD: most of a
                # second). That wait happens in a thread, never on the event loop.
                job = await asyncio.to_thread(executor.submit, _call, fn, args)
                return await asyncio.wrap_future(job)
            return await loop.run_in_executor(executor, _call, fn, args)
        except BrokenProcessPool as error:
            pool.replace(executor)
            raise WorkerCrashed(
                "The worker process doing this stopped unexpectedly; please try again."
            ) from error

    # -- life cycle ---------------------------------------------------------------------------

    async def warm(self, *, bulk: bool = True) -> list[int]:
        """Start the workers now (each warms as it starts): the interactive pool's, and the
        bulk pool's unless ``bulk`` is false (it then starts with the first heavy job). The
        process ids of the workers that answered."""
        jobs = [self._submit(self._interactive, _ready, ()) for _ in range(self._interactive.size)]
        if bulk:
            jobs += [self._submit(self._bulk, _ready, ()) for _ in range(self._bulk.size)]
        return list(await asyncio.gather(*jobs))

    async def close(self) -> None:
        """Stop both pools (jobs still queued are cancelled, running ones finish)."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._interactive.shutdown)
        await asyncio.to_thread(self._bulk.shutdown)


async def _aiter(jobs: Iterable[Any] | AsyncIterator[Any]) -> AsyncIterator[Any]:
    if hasattr(jobs, "__aiter__"):
        async for job in jobs:  # type: ignore[union-attr]
            yield job
    else:
        for job in jobs:  # type: ignore[union-attr]
            yield job


async def in_order(
    jobs: Iterable[asyncio.Future[T]] | AsyncIterator[asyncio.Future[T]], limit: int
) -> AsyncIterator[T]:
    """The results of ``jobs`` (futures, started as they are drawn) in order, drawing at most
    ``limit`` ahead of the one awaited. A failure cancels the jobs drawn after it."""
    pending: collections.deque[asyncio.Future[T]] = collections.deque()
    try:
        async for job in _aiter(jobs):
            pending.append(job)
            if len(pending) >= max(1, limit):
                yield await pending.popleft()
        while pending:
            yield await pending.popleft()
    finally:
        for job in pending:
            if job.done() and not job.cancelled():
                job.exception()  # retrieved: no "never retrieved" warning
            job.cancel()


async def map_bounded(fn: Callable[[T], Awaitable[R]], items: Sequence[T], limit: int) -> list[R]:
    """``[await fn(item) for item in items]``, at most ``limit`` at a time, in order.

    ``limit`` tasks take the items in turn. (A task for each item, held back by a semaphore,
    creates them all in one step of the event loop: for a 2,000-entry import, a stall of tens
    of milliseconds before the first lookup.) Unlike ``in_order``, which draws at most ``limit``
    ahead of the job it awaits, a slow item holds back only its own task."""
    results: list[Any] = [None] * len(items)
    turns = iter(enumerate(items))

    async def worker() -> None:
        for index, item in turns:  # one shared iterator: each item goes to one worker
            results[index] = await fn(item)

    await asyncio.gather(*(worker() for _ in range(min(limit, len(items)))))
    return results


def server_key(scope: str, owner_id: int) -> str:
    """The slot key of a server (``guild:…``) or a person's DMs (``user:…``)."""
    return f"{scope}:{owner_id}"


__all__ = [
    "Busy",
    "WorkerCrashed",
    "WorkerError",
    "Workers",
    "in_order",
    "map_bounded",
    "pool_sizes",
    "server_key",
]
