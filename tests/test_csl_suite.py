"""The official CSL test suite (bibliography mode) as the test of bot.citeproc_py's corrections.

Every bibliography fixture of ../shared/data/csl-test-suite goes through ``litbot format …
--output html`` (scripts/csl_suite.py) and must equal citeproc-js's recorded HTML, except the
ones listed, with their reasons, in tests/csl_suite_expected_failures.txt; a listed fixture
that starts passing fails too, so the list stays true. No fixture may crash.
"""

from __future__ import annotations

import pytest

from scripts.csl_suite import SUITE, expected_failures, fixtures, parse, render_litbot

pytestmark = pytest.mark.skipif(
    not SUITE.is_dir(), reason="../shared/data/csl-test-suite is not beside the checkout"
)
FIXTURES = fixtures() if SUITE.is_dir() else []
EXPECTED = expected_failures()
MIN_PASS_RATE = 0.90


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture(path):
    fixture = parse(path)
    output = render_litbot(fixture)  # a crash fails, listed or not
    if path.name in EXPECTED:
        assert output != fixture["RESULT"], "now passes: remove it from the expected failures"
    else:
        assert output == fixture["RESULT"]


def test_expected_failures_are_bibliography_fixtures_with_reasons():
    names = {p.name for p in FIXTURES}
    for name, reason in EXPECTED.items():
        assert name in names, f"{name} is not a bibliography fixture"
        assert len(reason) > 20, f"{name} needs its reason"


def test_pass_rate():
    assert len(FIXTURES) == 199
    assert 1 - len(EXPECTED) / len(FIXTURES) >= MIN_PASS_RATE
