"""End-to-end latency of /paper through the real bot process, as a Discord user sees it.

Starts the fake Discord (tests/e2e/fake_discord.py), the upstream replay server and
``litbot run`` on 127.0.0.1, then sends /paper interactions over the gateway from concurrent
users (each user waits for its answer before asking again):

  first: a few DOIs looked up once (one at a time), then one /paper each from all ``--users``
        at once: the first burst after start, in which the bot opens its connections to
        Discord (one per answer in flight; a bot in use keeps them open);
  warm: then ``--interactions`` /paper repeating those DOIs, connections open (the target);
  cold: ``--interactions`` /paper for DOIs the bot has never seen (recorded Crossref works),
        every upstream answering after ``--latency`` seconds;
  again: the cold DOIs once more, right after, upstreams answering at once (what a lab sees
        when a paper is passed around: ideally no upstream request at all).

The fake Discord runs in this process and times the answers: its own garbage collector is
paused during each phase (collected before it), so a pause of the harness (a full collection
of everything it recorded: 130 ms seen) is not counted as the bot's latency.

Prints p50/p95/p99 of INTERACTION_CREATE → first acknowledgement (the defer) and → final
answer (the card), the upstream requests made, and the targets: first acknowledgement p99
under 100 ms even while upstreams take 2.5 s, warm final answer p99 under 50 ms.

    python bench/e2e.py [--interactions 200] [--users 20] [--latency 2.5] [--warm-dois 10]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.collector import collector_off  # noqa: E402
from tests.conftest import SYNTHETIC  # noqa: E402
from tests.e2e.fake_discord import FakeDiscord, NoAnswer  # noqa: E402
from tests.e2e.process import BotProcess, bot_environment, run_once  # noqa: E402
from tests.fakes.upstreams import FIXTURES, UpstreamServer  # noqa: E402
from tests.upstream_mock import MockUpstreams  # noqa: E402

SEED = "10.1186/s12943-023-01737-7"
SOURCES = ("openalex", "crossref", "unpaywall", "s2", "datacite")
FIRST_ACK_P99_MS = 100.0
WARM_FINAL_P99_MS = 50.0


@dataclass
class Sample:
    first_ack: float | None
    final: float | None
    ok: bool
    error: str = ""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    return " / ".join(f"{percentile(values, q) * 1000:.1f}" for q in (50, 95, 99))


async def load(discord: FakeDiscord, queries: list[str], users: int) -> list[Sample]:
    """``users`` concurrent users working through ``queries``, one interaction at a time each;
    the harness's collector paused meanwhile."""
    with collector_off():  # the harness's own collector; the bot's process is untouched
        return await _load(discord, queries, users)


async def _load(discord: FakeDiscord, queries: list[str], users: int) -> list[Sample]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for query in queries:
        queue.put_nowait(query)
    samples: list[Sample] = []

    async def user(number: int) -> None:
        while not queue.empty():
            query = queue.get_nowait()
            try:
                answer = await discord.slash(
                    "paper", query=query, user=f"user{number}", settle=0, within=600
                )
            except NoAnswer as error:
                samples.append(Sample(None, None, False, str(error)))
                continue
            card = answer.message is not None and bool(answer.message.embeds)
            samples.append(
                Sample(answer.first_ack, answer.final, card, "" if card else answer.content)
            )

    await asyncio.gather(*(user(i) for i in range(users)))
    return samples


async def quiet(world: MockUpstreams, seconds: float = 2.5) -> None:
    """Until no upstream request has arrived for ``seconds`` (late sources have finished)."""
    last, since = sum(world.calls.values()), time.perf_counter()
    while time.perf_counter() - since < seconds:
        await asyncio.sleep(0.25)
        now = sum(world.calls.values())
        if now != last:
            last, since = now, time.perf_counter()


def report(
    name: str, latency: float, samples: list[Sample], calls: Counter[str], took: float
) -> None:
    acks = [s.first_ack for s in samples if s.first_ack is not None]
    finals = [s.final for s in samples if s.ok and s.final is not None]
    errors = [s for s in samples if not s.ok]
    by_source = ", ".join(f"{k} {v}" for k, v in sorted(calls.items())) or "none"
    print(
        f"{name:<5} {latency:>5.1f} s  {len(samples):>4}  {spread(acks):>24}  {spread(finals):>28}"
        f"  {sum(calls.values()):>5}  {len(errors):>4}  {took:>6.1f} s"
    )
    print(f"      upstream requests: {by_source}")
    for error in errors[:3]:
        print(f"      not a card: {error.error[:160]}")


async def main(args: argparse.Namespace) -> int:
    world = MockUpstreams(FIXTURES)
    world.add("openalex", SEED, SYNTHETIC / "openalex-seed.json")
    world.add("crossref", SEED, SYNTHETIC / "crossref-seed.json")
    warm = [doi for doi in sorted(world.files["openalex"]) if doi != SEED][: args.warm_dois]
    cold = [doi for doi in sorted(world.files["crossref"]) if doi not in warm and doi != SEED]
    if len(cold) < args.interactions:
        print(f"only {len(cold)} recorded works for the cold phase", file=sys.stderr)
    cold = cold[: args.interactions]

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with FakeDiscord() as discord, UpstreamServer(world) as upstreams:
            env = bot_environment(discord, upstreams, folder)
            code, _, err = await run_once(env, folder, "sync")
            if code:
                print(err, file=sys.stderr)
                return 1
            bot = await BotProcess(env, folder).start("run")
            try:
                await bot.until_ready(discord)
                print(
                    f"litbot end to end: /paper from {args.users} concurrent users, real process, "
                    "fake Discord and upstreams on 127.0.0.1"
                )
                print(
                    f"{'phase':<5} {'upstr.':>7}  {'n':>4}  {'first ack p50/p95/p99 ms':>24}  "
                    f"{'final answer p50/p95/p99 ms':>28}  {'upstr':>5}  {'errs':>4}  {'wall':>8}"
                )
                for doi in warm:  # one lookup each fills the cache
                    await discord.slash("paper", query=doi, settle=0, within=60)
                await quiet(world)
                before, start = world.calls.copy(), time.perf_counter()
                queries = [warm[i % len(warm)] for i in range(args.users)]
                first = await load(discord, queries, args.users)
                report("first", 0.0, first, world.calls - before, time.perf_counter() - start)

                before, start = world.calls.copy(), time.perf_counter()
                queries = [warm[i % len(warm)] for i in range(args.interactions)]
                warm_samples = await load(discord, queries, args.users)
                report("warm", 0.0, warm_samples, world.calls - before, time.perf_counter() - start)

                world.latency.update(dict.fromkeys(SOURCES, args.latency))
                before, start = world.calls.copy(), time.perf_counter()
                cold_samples = await load(discord, cold, args.users)
                took = time.perf_counter() - start
                report("cold", args.latency, cold_samples, world.calls - before, took)

                world.latency.clear()
                before, start = world.calls.copy(), time.perf_counter()
                again = await load(discord, cold, args.users)
                report("again", 0.0, again, world.calls - before, time.perf_counter() - start)
            finally:
                await bot.stop()
            if discord.rejections or discord.unmodelled or upstreams.unmodelled:
                print(f"Discord refused: {discord.rejections}", file=sys.stderr)
                print(f"unmodelled: {discord.unmodelled} {upstreams.unmodelled}", file=sys.stderr)
                return 1

    everything = first + warm_samples + cold_samples + again
    all_acks = [s.first_ack for s in everything if s.first_ack is not None]
    cold_acks = [s.first_ack for s in cold_samples if s.first_ack is not None]
    warm_finals = [s.final for s in warm_samples if s.ok and s.final is not None]
    verdicts = [
        (
            f"first ack p99 < {FIRST_ACK_P99_MS:.0f} ms while upstreams take {args.latency} s",
            percentile(cold_acks, 99) * 1000 if cold_acks else float("inf"),
            FIRST_ACK_P99_MS,
        ),
        (
            "first ack p99 < 100 ms over all phases",
            percentile(all_acks, 99) * 1000,
            FIRST_ACK_P99_MS,
        ),
        (
            f"warm final answer p99 < {WARM_FINAL_P99_MS:.0f} ms",
            percentile(warm_finals, 99) * 1000 if warm_finals else float("inf"),
            WARM_FINAL_P99_MS,
        ),
    ]
    failed = False
    for label, value, limit in verdicts:
        ok = value < limit
        failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {value:.1f} ms")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=200)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--latency", type=float, default=2.5, help="upstream latency, cold phase")
    parser.add_argument("--warm-dois", type=int, default=10)
    raise SystemExit(asyncio.run(main(parser.parse_args())))
