"""``json_depth_ok``: the nesting bound every upstream body is held to, checked against the
plain recursive definition on generated JSON and on the recorded bodies."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.sources._http import json_depth_ok

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=40,
)


def depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@given(JSON, st.integers(min_value=0, max_value=8))
def test_the_bound_is_the_nesting_depth(value, limit):
    assert json_depth_ok(value, limit) == (depth(value) <= limit)


def test_recorded_bodies_are_within_the_bound_and_their_depth_is_exact(fixtures_dir):
    for path in sorted(fixtures_dir.glob("*/*.json")):
        value = json.loads(path.read_bytes())
        d = depth(value)
        assert json_depth_ok(value, 64), path.name
        assert json_depth_ok(value, d) and not (d and json_depth_ok(value, d - 1)), path.name
