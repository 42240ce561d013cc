"""citeproc-py as litbot runs it (pure): CSL-JSON items + a CSL style → bibliography entries.

citeproc-py 0.11.1 renders; ``corrections`` patches it, once, where it departs from the CSL
1.0.2 specification or from citeproc-js (the reference processor, whose output the official
CSL test suite records). Each correction is named after the section it implements and listed
in ``CORRECTIONS``; the suite (``tests/test_csl_suite.py``, ``scripts/csl_suite.py``) is their
test, with its expected failures listed and argued in ``tests/csl_suite_expected_failures.txt``.

Modules: ``engine`` (styles, the lock, render and finish), ``corrections`` (the patches),
``names`` (name parsing, initialisation and order), ``numbers`` (ranges, page-range formats),
``textcase`` (text-case), ``disambiguation`` (add-names, add-givenname, year-suffix,
``disambiguate="true"``), ``state`` (per-thread rendering state). Rich text travels as marks
(``bot.richtext``: ``read_csl``, ``unmark``).
"""

from bot.citeproc_py.corrections import CORRECTIONS, Correction
from bot.citeproc_py.engine import (
    NO_PRINTED_FORM,
    Engine,
    Markup,
    StyleError,
    from_xml,
    load,
    render,
)

__all__ = [
    "CORRECTIONS",
    "NO_PRINTED_FORM",
    "Correction",
    "Engine",
    "Markup",
    "StyleError",
    "from_xml",
    "load",
    "render",
]
