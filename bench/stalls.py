"""Why the event loop stalled: a monitor thread that looks at the process whenever the loop is late.

A coroutine marks the time every 2 ms; a thread checks the mark every 2 ms and, while the loop
is more than ``late`` behind, samples every thread's stack (``sys._current_frames``: the loop's
own code, or another thread holding the GIL: a pool's pickling or unpickling, SQLite's thread)
and, over the whole stall, the CPU time each thread of this process used and the CPU time every
process of the machine used (``/proc``). A stall in which this process used little CPU was the
machine's (other processes ran); one in which the loop's thread used it was the loop's own
code (its stacks say which); one in which another thread used it was the GIL. The monitor
costs CPU and the GIL itself while the loop is late: use it to explain stalls, not to count them.

    monitor = StallMonitor(); monitor.start()   # on the running loop
    ...
    await monitor.stop(); print(monitor.report(min_ms=50))
"""

from __future__ import annotations

import asyncio
import collections
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

# Where a thread waits rather than works: not worth a sample
IDLE = {
    ("selectors.py", "select"),
    ("threading.py", "wait"),
    ("threading.py", "_wait_for_tstate_lock"),
    ("queue.py", "get"),
    ("connection.py", "_recv"),
    ("connection.py", "wait"),
    ("thread.py", "_worker"),
}


@dataclass
class Stall:
    started: float
    worst: float = 0.0  # seconds behind, at the latest
    cpu: float = 0.0  # this process's CPU seconds during the stall
    threads: dict[str, float] = field(default_factory=dict)  # name → CPU seconds
    machine: list[tuple[float, str]] = field(default_factory=list)  # (CPU s, process)
    stacks: collections.Counter[str] = field(default_factory=collections.Counter)


def _thread_cpu() -> dict[str, float]:
    out = {}
    for thread in threading.enumerate():
        try:
            clock = time.pthread_getcpuclockid(thread.ident or 0)
            out[thread.name] = time.clock_gettime(clock)
        except (OSError, ValueError):
            continue
    return out


def _processes() -> dict[str, tuple[float, str]]:
    """pid → (CPU seconds so far, "pid nice=N command")."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
            fields = raw[raw.rindex(")") + 2 :].split()
            command = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ").strip()
        except (OSError, ValueError):
            continue
        used = (int(fields[11]) + int(fields[12])) / tick
        out[pid] = (used, f"{pid} nice={fields[16]} {command[:70]}")
    return out


class StallMonitor:
    def __init__(self, late: float = 0.03) -> None:
        self.late = late
        self.stalls: list[Stall] = []
        self._mark = time.monotonic()
        self._stop = threading.Event()
        self._ticker: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._ticker = asyncio.ensure_future(self._tick())
        self._thread = threading.Thread(
            target=self._watch, args=(threading.get_ident(),), name="stall-monitor", daemon=True
        )
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.cancel()
        if self._thread is not None:
            self._thread.join()

    async def _tick(self) -> None:
        while True:
            self._mark = time.monotonic()
            await asyncio.sleep(0.002)

    def _watch(self, loop_thread: int) -> None:
        me = threading.get_ident()
        stall: Stall | None = None
        threads: dict[str, float] = {}
        machine: dict[str, tuple[float, str]] = {}
        cpu = 0.0
        while not self._stop.is_set():
            time.sleep(0.002)
            behind = time.monotonic() - self._mark
            if behind > self.late:
                if stall is None:
                    stall = Stall(time.monotonic())
                    self.stalls.append(stall)
                    cpu, threads, machine = time.process_time(), _thread_cpu(), _processes()
                stall.worst = max(stall.worst, behind)
                names = {t.ident: t.name for t in threading.enumerate()}
                for ident, frame in sys._current_frames().items():
                    if ident == me:
                        continue
                    top = traceback.extract_stack(frame)[-6:]
                    last = (os.path.basename(top[-1].filename), top[-1].name)
                    if ident != loop_thread and last in IDLE:
                        continue
                    who = "LOOP" if ident == loop_thread else names.get(ident, "?")
                    where = " <- ".join(
                        f"{os.path.basename(f.filename)}:{f.lineno}:{f.name}" for f in reversed(top)
                    )
                    stall.stacks[f"{who}: {where}"] += 1
            elif stall is not None:
                stall.cpu = time.process_time() - cpu
                now = _thread_cpu()
                stall.threads = {k: now[k] - v for k, v in threads.items() if k in now}
                after = _processes()
                stall.machine = sorted(
                    (
                        (after[pid][0] - used, name)
                        for pid, (used, name) in machine.items()
                        if pid in after and after[pid][0] > used
                    ),
                    reverse=True,
                )[:5]
                stall = None

    def report(self, min_ms: float = 50.0, most: int = 12) -> str:
        """The stalls of at least ``min_ms``, longest first: CPU by thread and process, and
        where the busy threads were."""
        big = sorted((s for s in self.stalls if s.worst * 1000 >= min_ms), key=lambda s: -s.worst)
        lines = [f"{len(big)} stalls of {min_ms:.0f} ms or more (of {len(self.stalls)} sampled)"]
        for stall in big[:most]:
            busy = {k: round(v * 1000) for k, v in stall.threads.items() if v >= 0.002}
            lines.append(
                f"\n{stall.worst * 1000:.0f} ms: this process used {stall.cpu * 1000:.0f} ms "
                f"of CPU, by thread {busy}"
            )
            lines.append(
                "  CPU by process: "
                + "; ".join(f"{used * 1000:.0f} ms {name}" for used, name in stall.machine)
            )
            for where, count in stall.stacks.most_common(5):
                lines.append(f"  {count:3d}× {where[:300]}")
        return "\n".join(lines)
