"""``Work.to_dict`` (every cache write and saved entry) is exactly what it was when it was
built on ``dataclasses.asdict``: checked on recorded works merged from every source."""

from __future__ import annotations

import dataclasses
import json

from bot.identifiers import parse_identifier
from bot.models import WORK_SCHEMA, Update, Work
from tests.world import litbot, seeded

DOIS = [
    "10.1186/s12943-023-01737-7",
    "10.7554/elife.01567",
    "10.1016/j.addr.2015.01.008",
    "10.1073/pnas.1414271111",
    "10.1101/2024.04.01.587366",
    "10.1371/journal.pone.0000030",
]


def reference(work: Work) -> dict:
    data = dataclasses.asdict(work)
    data["schema"] = WORK_SCHEMA
    data["fetched_at"] = work.fetched_at.isoformat()
    data["authors"] = [
        {"given": a.given, "family": a.family, "name": a.name, "orcid": a.orcid}
        for a in work.authors
    ]
    data["access"] = dataclasses.asdict(work.access)
    data["locations"] = [
        {**dataclasses.asdict(loc), "version": loc.version.value if loc.version else None}
        for loc in work.locations
    ]
    for key in ("issn", "isbn", "sources", "missing", "notes", "referenced", "related"):
        data[key] = list(data[key])
    data["preprints"] = list(work.preprints)
    data["updates"] = [dataclasses.asdict(u) for u in work.updates]
    return data


async def test_to_dict_is_the_asdict_form_on_recorded_works(fixtures_dir, tmp_path):
    async with litbot(tmp_path, seeded(fixtures_dir)) as bot:
        works = [await bot.papers.lookup(parse_identifier(d), settled=True) for d in DOIS]
        works.append(await bot.papers.lookup(parse_identifier("arXiv:1610.08734"), settled=True))
    works.append(
        dataclasses.replace(works[0], updates=(Update("retraction", "10.1/x", "2026", "crossref"),))
    )
    assert any(w.locations for w in works) and any(w.markup for w in works)
    for work in works:
        data = work.to_dict()
        assert json.dumps(data) == json.dumps(reference(work)), work.doi
        assert Work.from_dict(json.loads(json.dumps(data))).to_dict() == data
        data["provenance"]["title"] = "changed"  # a copy: the work is not changed
        assert work.provenance.get("title") != "changed"
