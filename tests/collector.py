"""What only the garbage collector would free: for tests that hold objects to their references.

``collector_off()`` collects once, then keeps the collector from running, so whatever a test
then finds alive was not freed by its last reference going; ``left_for_the_collector(*types)``
names the objects of those types a full collection finds unreachable now (cyclic garbage).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def left_for_the_collector(*types: type) -> list[str]:
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return [type(o).__name__ for o in gc.garbage if isinstance(o, types)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
