"""Cooldowns: sliding windows per person and per server, on a fake clock (no sleeping)."""

from __future__ import annotations

import pytest

from bot.cooldowns import DEFAULT_POLICIES, SWEEP_EVERY, Cooldowns, Limit, Policy
from bot.errors import Cooldown, LitError

GUILD, OTHER_GUILD = ("guild", 1), ("guild", 2)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limits(clock: Clock, user=(2, 60), owner=(5, 600)) -> Cooldowns:
    policy = Policy("imports", user=Limit(*user), owner=Limit(*owner))
    return Cooldowns({"import": policy}, clock=clock)


def test_a_person_gets_the_window_then_a_wait_that_counts_down(clock):
    cooldowns = limits(clock)
    cooldowns.take("import", 7, GUILD)
    clock.now += 10
    cooldowns.take("import", 7, GUILD)
    clock.now += 5
    with pytest.raises(Cooldown) as refused:
        cooldowns.take("import", 7, GUILD)
    assert isinstance(refused.value, LitError)
    assert refused.value.retry_after == pytest.approx(45)
    assert refused.value.user_message == "You can make 2 imports per minute; try again in 45 s."
    clock.now += 44.5
    with pytest.raises(Cooldown, match="try again in 1 s"):
        cooldowns.check("import", 7, GUILD)
    clock.now += 0.5  # the first use is a minute old: room for one
    cooldowns.take("import", 7, GUILD)
    with pytest.raises(Cooldown, match="try again in 10 s"):  # the second ages out next
        cooldowns.take("import", 7, GUILD)


def test_refusals_and_checks_cost_nothing(clock):
    cooldowns = limits(clock)
    for _ in range(5):
        cooldowns.check("import", 7, GUILD)
    cooldowns.take("import", 7, GUILD)
    cooldowns.take("import", 7, GUILD)
    for _ in range(5):
        with pytest.raises(Cooldown):
            cooldowns.take("import", 7, GUILD)
    clock.now += 60
    cooldowns.take("import", 7, GUILD)


def test_people_are_apart_but_share_their_servers_budget(clock):
    cooldowns = limits(clock)
    for user in (1, 1, 2, 2, 3):
        cooldowns.take("import", user, GUILD)
    with pytest.raises(Cooldown) as refused:
        cooldowns.take("import", 4, GUILD)  # a fresh person, but the server had its five
    assert refused.value.user_message == (
        "Here, 5 imports per 10 minutes are allowed; try again in 600 s."
    )
    cooldowns.take("import", 4, OTHER_GUILD)  # another server is another budget
    with pytest.raises(Cooldown, match="You can make 2 imports"):
        cooldowns.take("import", 1, OTHER_GUILD)  # a person's limit holds across servers


def test_a_costly_use_takes_more_room_but_never_more_than_the_window(clock):
    cooldowns = limits(clock, user=(5, 60), owner=(20, 60))
    cooldowns.take("import", 7, GUILD, cost=3)
    clock.now += 20
    with pytest.raises(Cooldown, match="try again in 40 s"):
        cooldowns.take("import", 7, GUILD, cost=3)
    cooldowns.take("import", 7, GUILD, cost=2)
    clock.now += 60
    cooldowns.take("import", 7, GUILD, cost=50)  # counted as the whole window, not refused
    with pytest.raises(Cooldown):
        cooldowns.take("import", 7, GUILD)


def test_unknown_actions_are_not_limited_and_idle_keys_are_forgotten(clock):
    cooldowns = limits(clock)
    for _ in range(100):
        cooldowns.take("list", 7, GUILD)
    for user in range(3000):
        cooldowns.take("import", user, ("guild", user))
        clock.now += 1
    # a sweep every SWEEP_EVERY uses drops the keys idle for a whole window: what is left is
    # at most the last window's keys plus those made since the sweep (a person and a server each)
    assert len(cooldowns._uses) <= 2 * (600 + SWEEP_EVERY)
    assert ("import", "user", 0) not in cooldowns._uses


def test_defaults_cover_imports_and_exports():
    assert set(DEFAULT_POLICIES) == {"import", "export"}
    for policy in DEFAULT_POLICIES.values():
        assert policy.user.uses <= policy.owner.uses
