"""The arXiv Atom API and NCBI's PMC ID converter, answering from ``../shared/fixtures``.

Neither API was recorded answering litbot's exact requests, so the answers are assembled from
real bodies, and nothing in them is invented:

* **arXiv** (``/api/query?id_list=…``): each ``<entry>`` of the recorded feeds in ``arxiv/`` is
  served byte for byte, inside the head of the recorded feed it came from (with
  ``totalResults`` set to the number of entries served); the new (2025-11) feeds are preferred,
  ids only the old (2025-08) feeds hold are served in the old format. An unknown id gets the
  recorded answer for an unknown id, ``arxiv/rsxiv-query_empty.xml``, as it is.
* **NCBI** (``/pmc/utils/idconv/v1.0/?ids=…&idtype=…&format=json``): the envelope of the recorded
  success ``ncbi-idconv/doi-10.1038-ng.590.json`` with its ``records`` chosen per request. The
  records are the recorded one, and one per recorded OpenAlex work that has a PMCID (the same
  three ids OpenAlex lists, in the recorded record's shape without ``versions``): the converter
  knows only articles in PMC. An id it does not know gets the error record NCBI returns for one,
  ``{"pmcid": …, "live": "false", "status": "error", "errmsg": "invalid article id"}`` — that
  shape is quoted from a recorded answer in a third-party project's source (not in fixtures/).

``tests.upstream_mock.MockUpstreams`` serves both (``mock.arxiv``, ``mock.ncbi``), in process and
through ``tests.fakes.upstreams``. Tests add papers with ``mock.arxiv.add(entry)`` — an entry
built from a recorded one, which the test must say.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from xml.sax.saxutils import escape

ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_TYPE = "application/json; charset=ISO-8859-1"  # as NCBI labels it (recorded)
# New format first: an id both formats hold is served as arXiv serves it now.
ARXIV_FEEDS = (
    "arxiv/rsxiv-query.xml",
    "arxiv/rsxiv-query_missing_id.xml",
    "arxiv/rsxiv-query-2025-08-oldformat.xml",
    "arxiv/rsxiv-query_missing_id-2025-08-oldformat.xml",
)
ARXIV_UNKNOWN = "arxiv/rsxiv-query_empty.xml"
NCBI_RECORDED = "ncbi-idconv/doi-10.1038-ng.590.json"
NCBI_BAD_REQUEST = "ncbi-idconv/error-bad-idtype.json"

_ENTRY = re.compile(rb"<entry>.*?</entry>", re.DOTALL)
_ENTRY_ID = re.compile(rb"<id>https?://arxiv\.org/abs/(?P<id>[^<]+?)(?:v\d+)?</id>")
_TOTAL = re.compile(rb"(?P<open><opensearch:totalResults[^>]*>)\d+(?P<close></)")
_VERSION = re.compile(r"v\d+$")

Answer = tuple[int, bytes, str]  # status, body, content type


def arxiv_entry_id(entry: bytes) -> str | None:
    """The id (no version) of a recorded ``<entry>``; ``None`` for the old format's empty ones."""
    m = _ENTRY_ID.search(entry)
    return m["id"].decode().lower() if m else None


def recorded_entry(fixtures: Path, arxiv_id: str) -> bytes:
    """The recorded ``<entry>`` of ``arxiv_id`` (new format preferred), for tests to build on."""
    return ArxivWorld(fixtures).entries[arxiv_id][1]


class ArxivWorld:
    """The arXiv papers of the recorded feeds, by id."""

    def __init__(self, fixtures: Path) -> None:
        self.entries: dict[str, tuple[bytes, bytes]] = {}  # id → (feed head, entry)
        self.heads: list[bytes] = []
        for name in ARXIV_FEEDS:
            body = (fixtures / name).read_bytes()
            head = body[: body.index(b"<entry>")]
            self.heads.append(head)
            for match in _ENTRY.finditer(body):
                ident = arxiv_entry_id(match.group())
                if ident:
                    self.entries.setdefault(ident, (head, match.group()))
        self.unknown = (fixtures / ARXIV_UNKNOWN).read_bytes()

    def add(self, entry: bytes | str, *, old_format: bool = False) -> str:
        """Serve ``entry`` (an ``<entry>`` element) for its id; returns the id."""
        entry = entry.encode() if isinstance(entry, str) else entry
        ident = arxiv_entry_id(entry)
        assert ident, "the entry has no arXiv id"
        self.entries[ident] = (self.heads[2 if old_format else 0], entry)
        return ident

    def answer(self, params: Mapping[str, str], *, unknown: bool = False) -> Answer:
        wanted = [_VERSION.sub("", i.strip().lower()) for i in params.get("id_list", "").split(",")]
        found = [] if unknown else [self.entries[i] for i in wanted if i in self.entries]
        if not found:
            return 200, self.unknown, ATOM_TYPE
        head = _TOTAL.sub(
            lambda m: m["open"] + str(len(found)).encode() + m["close"], found[0][0], count=1
        )
        body = head + b"\n  ".join(entry for _, entry in found) + b"\n</feed>\n"
        return 200, body, ATOM_TYPE


def _openalex_ids(data: dict) -> dict[str, str] | None:
    """``{"pmcid", "pmid", "doi"}`` of a recorded OpenAlex work that is in PMC, else None."""
    ids = data.get("ids") if isinstance(data, dict) else None
    if not isinstance(ids, dict) or not ids.get("pmcid") or not data.get("doi"):
        return None
    digits = str(ids["pmcid"]).rstrip("/").rsplit("/", 1)[-1].upper().removeprefix("PMC")
    record = {"pmcid": f"PMC{digits}"}
    if ids.get("pmid"):
        record["pmid"] = str(ids["pmid"]).rstrip("/").rsplit("/", 1)[-1]
    record["doi"] = str(data["doi"]).removeprefix("https://doi.org/")
    return record


class NcbiWorld:
    """The articles NCBI's converter knows here: the recorded one, and the recorded OpenAlex
    works that are in PMC."""

    def __init__(self, fixtures: Path, openalex_files: Iterable[Path] = ()) -> None:
        self.envelope = json.loads((fixtures / NCBI_RECORDED).read_text())
        self.bad_request = (fixtures / NCBI_BAD_REQUEST).read_bytes()
        self.records: list[dict] = list(self.envelope["records"])
        for path in openalex_files:
            record = _openalex_ids(json.loads(path.read_text()))
            if record and not any(r.get("pmcid") == record["pmcid"] for r in self.records):
                self.records.append(record)

    def add(self, record: dict) -> None:
        self.records.append(record)

    def _find(self, id_type: str, value: str) -> dict | None:
        for record in self.records:
            known = str(record.get(id_type) or "")
            if known and known.lower() == value.lower():
                return record
        return None

    def answer(self, params: Mapping[str, str], *, unknown: bool = False) -> Answer:
        id_type = params.get("idtype", "")
        if id_type not in ("doi", "pmid", "pmcid"):
            # The recorded answer to a request NCBI refuses (404); litbot always sends idtype.
            return 404, self.bad_request, JSON_TYPE
        records = []
        for value in params.get("ids", "").split(","):
            found = None if unknown else self._find(id_type, value.strip())
            records.append(
                found
                or {
                    id_type: value,
                    "live": "false",
                    "status": "error",
                    "errmsg": "invalid article id",
                }
            )
        echo = ";".join(f"{k}={v}" for k, v in params.items())
        body = {**self.envelope, "request": echo, "records": records}
        return 200, json.dumps(body, indent=1).encode(), JSON_TYPE


def entry_like(
    entry: bytes,
    *,
    arxiv_id: str,
    version: int,
    title: str,
    authors: Iterable[str],
    published: str,
    updated: str,
    category: str,
    summary: str,
    doi: str | None = None,
    journal_ref: str | None = None,
) -> bytes:
    """A new-format ``<entry>`` for a paper the fixtures lack, built from the recorded
    ``entry``: its elements, order and layout kept, their values replaced (XML-escaped).

    Tests that serve one say so: the values are the real paper's, the record is synthetic.
    """
    old = arxiv_entry_id(entry)
    assert old, "not a recorded entry"
    esc = escape  # XML text
    new = f"{arxiv_id}v{version}".encode()

    def put(pattern: bytes, value: bytes, text: bytes, count: int = 1) -> bytes:
        return re.compile(pattern, re.DOTALL).sub(lambda m: m["keep"] + value, text, count=count)

    out = put(rb"(?P<keep><id>)[^<]*(?=</id>)", b"http://arxiv.org/abs/" + new, entry)
    out = put(
        rb"(?P<keep>arxiv\.org/(?:abs|pdf)/)" + re.escape(old.encode()) + rb"v\d+", new, out, 0
    )
    for tag, value in (("title", title), ("summary", summary)):
        out = put(rf"(?P<keep><{tag}>).*?(?=</{tag}>)".encode(), esc(value).encode(), out)
    for tag, value in (("published", published), ("updated", updated)):
        out = put(rf"(?P<keep><{tag}>)[^<]*(?=</{tag}>)".encode(), value.encode(), out)
    out = put(rb'(?P<keep><(?:arxiv:primary_)?category term=")[^"]*', category.encode(), out, 0)
    blocks = list(re.finditer(rb"\s*<author>.*?</author>", out, re.DOTALL))
    ind = "\n    "
    people = "".join(f"{ind}<author>{ind}  <name>{esc(n)}</name>{ind}</author>" for n in authors)
    out = out[: blocks[0].start()] + people.encode() + out[blocks[-1].end() :]
    extra = ""
    if journal_ref:
        extra += f"{ind}<arxiv:journal_ref>{esc(journal_ref)}</arxiv:journal_ref>"
    if doi:
        extra += f"{ind}<arxiv:doi>{esc(doi)}</arxiv:doi>"
        extra += f'{ind}<link rel="related" href="https://doi.org/{esc(doi)}"/>'
    return out.replace(b"\n  </entry>", extra.encode() + b"\n  </entry>")


def entry_from_datacite(
    fixtures: Path,
    name: str,
    *,
    version: int,
    published: str,
    updated: str,
    category: str,
) -> bytes:
    """The arXiv entry of the paper whose recorded DataCite record is ``name``
    (``datacite/arxiv-….json``): ``entry_like`` the recorded entry of 2201.13452, with the
    DataCite record's id, title, creators and abstract, and the dates and primary category the
    caller reads off that record (``dates``, ``subjects``)."""
    attrs = json.loads((fixtures / name).read_text())["data"]["attributes"]
    ident = next(i["identifier"] for i in attrs["identifiers"] if i["identifierType"] == "arXiv")
    return entry_like(
        recorded_entry(fixtures, "2201.13452"),
        arxiv_id=ident,
        version=version,
        title=attrs["titles"][0]["title"],
        authors=[f"{c['givenName']} {c['familyName']}" for c in attrs["creators"]],
        published=published,
        updated=updated,
        category=category,
        summary=next(
            d["description"] for d in attrs["descriptions"] if d["descriptionType"] == "Abstract"
        ),
    )
