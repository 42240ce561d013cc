"""NCBI's PMC ID converter: PMID ↔ PMCID ↔ DOI for the articles in PubMed Central.

API root ``LITBOT_NCBI_URL`` + ``/pmc/utils/idconv/v1.0/?ids=…&idtype=…&format=json``, with
``tool`` and ``email`` as NCBI asks (three requests a second without an API key). Only articles
in PMC are known: any other id comes back as a record with ``"status": "error"``, which means
"unknown" here, not a failure. A body whose own ``status`` is ``"error"`` (a request NCBI
refused; its message is URL-encoded) is the source's failure.

The record carries identifiers only; ``PaperService`` uses it to resolve PMIDs and PMCIDs to a
DOI beside OpenAlex, and to give every DOI's card its PMID and PMCID.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote

from bot.models import SourceRecord
from bot.sources import _common as c
from bot.sources._http import SourceError, Upstream

log = logging.getLogger(__name__)

NAME = "ncbi"
PATH = "/pmc/utils/idconv/v1.0/"
ID_TYPES = frozenset({"doi", "pmid", "pmcid"})


def parse_record(data: Any) -> SourceRecord | None:
    """One item of ``records`` → ``SourceRecord`` (ids only); ``None`` when NCBI does not
    know the article (``"status": "error"``, or no PMCID: only PMC articles are known)."""
    if not isinstance(data, dict) or str(data.get("status") or "").lower() == "error":
        return None
    pmcid = c.pmcid(data.get("pmcid"))
    if not pmcid:
        return None
    return SourceRecord(
        source=NAME,
        doi=c.bare_doi(data.get("doi")),
        pmid=c.pmid(data.get("pmid")) if isinstance(data.get("pmid"), str | int) else None,
        pmcid=pmcid,
    )


def parse_answer(data: dict[str, Any], id_type: str, value: str) -> SourceRecord | None:
    """The converter's answer → the record of ``value`` (an id of ``id_type``), or ``None``."""
    wanted = value.lower()
    for item in c.items(data.get("records"), 200):
        record = parse_record(item)
        if record is None:
            continue
        if str(getattr(record, id_type) or "").lower() == wanted:
            return record
    return None


async def convert(up: Upstream, id_type: str, value: str) -> SourceRecord | None:
    """The PMC article whose ``id_type`` (doi, pmid, pmcid) is ``value``; ``None`` if unknown."""
    if id_type not in ID_TYPES:
        raise ValueError(f"unknown id type {id_type!r}")
    params = {"ids": value, "idtype": id_type, "format": "json"}
    data = await up.get_json(PATH, params)
    if data is None:
        return None
    if not isinstance(data, dict):
        raise up.unexpected(PATH)
    if str(data.get("status") or "").lower() == "error":
        message = unquote(str(data.get("message") or ""))[:160]
        log.warning("%s: refused %s %s: %s", NAME, id_type, value, message)
        raise SourceError(NAME, "refused the request")  # its words go to the log only
    if not isinstance(data.get("records"), list):
        raise up.unexpected(PATH)
    return parse_answer(data, id_type, value)
