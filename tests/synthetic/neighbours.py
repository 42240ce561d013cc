"""Synthetic OpenAlex neighbourhoods, built from recorded records only (no invented shapes).

The recorded OpenAlex works (``shared/fixtures/openalex/*.json``) do not cite one another, so a
list longer than one page cannot be recorded as is. These helpers make one the honest way:

* ``citing_record`` — a recorded work record, byte for byte except ``referenced_works`` (and,
  when asked, ``doi`` and ``referenced_works_count``), pointed at other **recorded** works;
* ``list_envelope`` — the recorded list envelope ``openalex/list-sample-5.json`` (its ``meta``
  keys as recorded) holding recorded work records, with ``count``/``page``/``per_page`` set.

Every value a test then checks (titles, authors, venues, DOIs) is a recorded value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OPENALEX = "https://openalex.org/"


def recorded_works(fixtures: Path) -> list[dict[str, Any]]:
    """The recorded OpenAlex work records with an id and a DOI, in file-name order."""
    out = []
    for path in sorted((fixtures / "openalex").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("id") and data.get("doi"):
            out.append(data)
    return out


def short_id(record: dict[str, Any]) -> str:
    return record["id"].removeprefix(OPENALEX)


def citing_record(
    fixtures: Path,
    base: str,
    cited: list[str],
    *,
    doi: str | None = None,
    count: int | None = None,
) -> bytes:
    """The recorded record ``openalex/<base>.json`` whose ``referenced_works`` are ``cited``
    (short ids); ``doi`` replaces its DOI, ``count`` its ``referenced_works_count`` (kept as
    recorded when not given: then OpenAlex's count and its list may differ, as they do live)."""
    data = json.loads((fixtures / "openalex" / f"{base}.json").read_text(encoding="utf-8"))
    data["referenced_works"] = [OPENALEX + ident for ident in cited]
    if doi is not None:
        data["doi"] = f"https://doi.org/{doi}"
        data.setdefault("ids", {})["doi"] = f"https://doi.org/{doi}"
    if count is not None:
        data["referenced_works_count"] = count
    return json.dumps(data).encode()


def list_envelope(
    fixtures: Path, results: list[dict[str, Any]], *, count: int, page: int, per_page: int
) -> bytes:
    """The recorded list envelope with ``results`` and the given ``meta`` counts."""
    data = json.loads((fixtures / "openalex" / "list-sample-5.json").read_text(encoding="utf-8"))
    data["results"] = results
    data["meta"].update(count=count, page=page, per_page=per_page)
    return json.dumps(data).encode()
