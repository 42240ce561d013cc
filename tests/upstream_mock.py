"""In-process upstreams for unit tests: an ``httpx.MockTransport`` serving recorded bodies.

Each source has its own fake host; a request's DOI is read from the path exactly as the real
APIs route it. Unknown DOIs get each API's recorded (or documented) 404 body. Tests can add
latency, failures (status codes with ``Retry-After``, timeouts, junk JSON) and count requests.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import httpx

from bot.settings import Settings
from tests.fakes.arxiv_ncbi import ArxivWorld, NcbiWorld

BASES = {
    "openalex": "http://openalex.test",
    "crossref": "http://crossref.test",
    "unpaywall": "http://unpaywall.test",
    "s2": "http://s2.test",
    "datacite": "http://datacite.test",
    "arxiv": "http://arxiv.test",
    "ncbi": "http://ncbi.test",
}
HOSTS = {httpx.URL(url).host: name for name, url in BASES.items()}


@dataclass
class Canned:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


JUNK = Canned(200, b'{"truncated": ')


def _index(fixtures: Path) -> dict[str, dict[str, Path]]:
    """source → lower-case DOI → recorded body file, read from the bodies themselves."""
    out: dict[str, dict[str, Path]] = {name: {} for name in BASES}

    def put(source: str, doi: object, path: Path) -> None:
        if isinstance(doi, str) and doi:
            out[source].setdefault(doi.lower().removeprefix("https://doi.org/"), path)

    for path in sorted((fixtures / "openalex").glob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and data.get("id") and data.get("doi"):
            put("openalex", data["doi"], path)
    for folder in ("crossref", "crossref-corpus"):
        for path in sorted((fixtures / folder).glob("*.json")):
            data = json.loads(path.read_text())
            if data.get("message-type") == "work":
                put("crossref", data["message"].get("DOI"), path)
    for path in sorted((fixtures / "unpaywall").glob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and data.get("doi"):
            put("unpaywall", data["doi"], path)
    for path in sorted((fixtures / "semanticscholar").glob("*.json")):
        data = json.loads(path.read_text())
        # turing-1950-fields-title.json answers a request without fields: not a full record
        if isinstance(data, dict) and data.get("paperId") and "fields-title" not in path.name:
            put("s2", (data.get("externalIds") or {}).get("DOI"), path)
    for path in sorted((fixtures / "datacite").glob("*.json")):
        data = json.loads(path.read_text())
        put("datacite", data["data"]["attributes"].get("doi"), path)
    return out


def _openalex_ids(fixtures: Path) -> dict[str, Path]:
    """``pmid:123`` / ``pmcid:pmc123`` → the recorded OpenAlex work that carries that id."""
    out: dict[str, Path] = {}
    for path in sorted((fixtures / "openalex").glob("*.json")):
        data = json.loads(path.read_text())
        ids = data.get("ids") if isinstance(data, dict) else None
        for scheme in ("pmid", "pmcid"):
            value = str((ids or {}).get(scheme) or "").rstrip("/").rsplit("/", 1)[-1]
            if scheme == "pmcid" and value.isdigit():
                value = f"PMC{value}"
            if value:
                out.setdefault(f"{scheme}:{value.lower()}", path)
    return out


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def not_found(source: str, key: str, fixtures: Path) -> Canned:
    """Each API's 404, as recorded (OpenAlex HTML, Crossref text) or as documented."""
    if source == "openalex":
        return Canned(
            404,
            (fixtures / "openalex/error-404-not-found.html").read_bytes(),
            "text/html; charset=utf-8",
        )
    if source == "crossref":
        return Canned(404, b"Resource not found.", "text/plain")
    if source == "s2":
        return Canned(404, json.dumps({"error": f"Paper with id {key} not found"}).encode())
    if source == "unpaywall":
        body = {
            "HTTP_status_code": 404,
            "error": True,
            "message": f"'{key}' isn't in Unpaywall. See https://support.unpaywall.org/a/"
            "solutions/articles/44001900286",
        }
        return Canned(404, json.dumps(body).encode())
    body = {
        "errors": [{"status": "404", "title": "The resource you are looking for doesn't exist."}]
    }
    return Canned(404, json.dumps(body).encode())


_SELECTED: dict[tuple[bytes, str], bytes] = {}


def _selected(canned: Canned, select: str) -> Canned:
    """An OpenAlex record with ``select=a,b``: those root fields only, in that order, as the
    API answers (apis.md §1; ``openalex/select-open_access-*.json``). A body that is not a
    JSON object (a hostile one a test planted) is served as it is. (Remembered: the fake's
    own time per request stays what it was without select.)"""
    body = _SELECTED.get((canned.body, select))
    if body is None:
        try:
            data = json.loads(canned.body)
        except (ValueError, RecursionError):
            return canned
        if not isinstance(data, dict):
            return canned
        kept = {name: data[name] for name in select.split(",") if name in data}
        body = json.dumps(kept).encode()
        if len(_SELECTED) < 4096:
            _SELECTED[canned.body, select] = body
    return Canned(canned.status, body, canned.content_type, canned.headers)


def request_key(source: str, path: str) -> str:
    """The identifier a request asks for, decoded and lower-cased (``doi:…``, ``pmid:…``)."""
    path = unquote(path)
    if source == "openalex":
        ident = path.removeprefix("/works/")
        ident = ident.removeprefix("https://doi.org/")
        return ident.lower() if ":" in ident.split("/")[0] else f"doi:{ident.lower()}"
    if source == "crossref":
        return "doi:" + path.removeprefix("/works/").lower()
    if source == "unpaywall":
        return "doi:" + path.removeprefix("/v2/").lower()
    if source == "s2":
        ident = path.removeprefix("/graph/v1/paper/")
        return "doi:" + ident.removeprefix("DOI:").lower()
    return "doi:" + path.removeprefix("/dois/").lower()


def _copied(source: str, data: dict, base: str, n: str) -> dict:
    """The recorded ``data`` of ``base`` as the copy ``<base>.b<n>``: DOI and title changed,
    everything else shared (shallow copies)."""
    doi = f"{base}.b{n}"
    if source == "crossref":
        record = {**data["message"], "DOI": doi}
        record["title"] = [f"{t} ({n})" for t in record.get("title") or []]
        return {**data, "message": record}
    data = {**data, "doi": f"https://doi.org/{doi}"}
    data["ids"] = {**(data.get("ids") or {}), "doi": data["doi"]}
    for name in ("title", "display_name"):
        if data.get(name):
            data[name] = f"{data[name]} ({n})"
    return data


_COPY = re.compile(r"^doi:(?P<base>10\..+)\.b(?P<n>\d+)$")


class MockUpstreams:
    """Serves recorded responses; ``fail``, ``latency`` and ``add`` shape each test's world."""

    def __init__(self, fixtures: Path) -> None:
        self.fixtures = fixtures
        self.files = _index(fixtures)
        self.openalex_ids = _openalex_ids(fixtures)
        # arXiv (Atom, by id_list) and NCBI's ID converter (by ids/idtype): tests/fakes/arxiv_ncbi
        self.arxiv = ArxivWorld(fixtures)
        self.ncbi = NcbiWorld(fixtures, self.files["openalex"].values())
        self._records: list[dict] | None = None
        self.extra: dict[tuple[str, str], Canned] = {}
        self._parsed_cache: dict[tuple[str, str], dict | None] = {}
        self.failures: dict[str, list[Canned | str]] = {}
        self.latency: dict[str, float] = {}
        self.calls: Counter[str] = Counter()
        self.requests: list[httpx.Request] = []
        # Held: every request waits here until the event is set (``hold``/``release``), so a
        # test sees what the bot does while no upstream has answered, with no clock involved.
        self.gate: asyncio.Event | None = None
        self.in_flight = 0  # requests waiting here now (held, or in their latency)
        self.log: list[str] | None = None  # shared with the Discord harness to check order

    def add(self, source: str, doi: str, body: bytes | str | Path, status: int = 200) -> None:
        if isinstance(body, Path):
            body = body.read_bytes()
        if isinstance(body, str):
            body = body.encode()
        self.extra[(source, f"doi:{doi.lower()}")] = Canned(status, body)

    def alias(self, source: str, key: str, doi: str) -> None:
        """Serve the record of ``doi`` for another key (``pmid:123``)."""
        self.extra[(source, key)] = Canned(200, self.files[source][doi].read_bytes())

    def preselect(self, select: str) -> None:
        """Every recorded OpenAlex record's ``select`` answer made now (the fake server of the
        benchmarks: selecting on each request would add the fake's own milliseconds to the
        latency it models)."""
        for path in self.files["openalex"].values():
            _selected(Canned(200, path.read_bytes()), select)

    def hold(self) -> None:
        """Hold every request from now on until ``release``."""
        self.gate = asyncio.Event()

    def release(self) -> None:
        """Let the held requests (and later ones) be answered."""
        if self.gate is not None:
            self.gate.set()
            self.gate = None

    async def waiting(self, count: int, *, passes: int = 10_000) -> bool:
        """Whether ``count`` requests wait here at once (held, or in their latency) within
        ``passes`` turns of the event loop: an in-process client's requests arrive in a few."""
        for _ in range(passes):
            if self.in_flight >= count:
                return True
            await asyncio.sleep(0)
        return False

    def fail(self, source: str, *outcomes: Canned | str) -> None:
        """Queue outcomes for ``source``: a ``Canned`` error, ``"timeout"`` or ``"junk"``.

        The last queued outcome repeats forever; queue ``"ok"`` to let later requests through.
        """
        self.failures[source] = list(outcomes)

    def remove(self, source: str) -> None:
        """The source knows nothing: every request is its 404."""
        self.failures[source] = ["unknown"]

    def _lookup(self, source: str, key: str) -> Canned:
        if (source, key) in self.extra:
            return self.extra[(source, key)]
        if key.startswith("doi:"):
            path = self.files[source].get(key.removeprefix("doi:"))
        else:  # OpenAlex's pmid:/pmcid: lookups
            path = self.openalex_ids.get(key) if source == "openalex" else None
        if path is None:
            return self._copy(source, key) or not_found(source, key, self.fixtures)
        return Canned(200, path.read_bytes())

    def _parsed(self, source: str, key: str) -> dict | None:
        """The record a list request carries for ``key``, as ``_lookup`` answers it, parsed
        once per recording (a list of fifty copies would otherwise parse fifty files per
        request in this process, slowing every other request it serves)."""
        if (source, key) in self.extra:  # set by a test, maybe changed since: never cached
            canned = self.extra[(source, key)]
            return json.loads(canned.body) if canned.status == 200 else None
        m = None if key.removeprefix("doi:") in self.files[source] else _COPY.match(key)
        base = key if m is None else f"doi:{m['base']}"
        if (source, base) not in self._parsed_cache:
            canned = self._lookup(source, base)
            parsed = json.loads(canned.body) if canned.status == 200 else None
            self._parsed_cache[(source, base)] = parsed
        data = self._parsed_cache[(source, base)]
        if data is None or m is None:
            return data
        return _copied(source, data, m["base"], m["n"])

    def _copy(self, source: str, key: str) -> Canned | None:
        """A recorded work answered for ``<its DOI>.b<n>``, the DOI and title changed as
        ``bench/cite.py``'s ``distinct`` changes them: benchmarks need thousands of distinct
        works (a 5,000-entry bibliography re-checked), and the recordings are a few hundred.
        The body is the recorded one with those two values replaced, nothing else."""
        m = _COPY.match(key)
        if m is None or source not in ("crossref", "openalex"):
            return None
        path = self.files[source].get(m["base"])
        if path is None:
            return None
        return Canned(
            200,
            json.dumps(_copied(source, json.loads(path.read_bytes()), m["base"], m["n"])).encode(),
        )

    async def respond(
        self, source: str, path: str, params: Mapping[str, str] | None = None
    ) -> Canned | str:
        """The outcome for one request: a ``Canned`` response, ``"timeout"`` or ``"junk"``.

        Shared by the in-process transport below and the 127.0.0.1 server in ``tests.fakes``.
        """
        self.calls[source] += 1
        if self.log is not None:  # (a list request names its keys in its filter)
            listed = f"?filter={(params or {}).get('filter', '')}" if path == "/works" else ""
            self.log.append(f"upstream {source} {path}{listed}")
        self.in_flight += 1
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.latency.get(source):
                await asyncio.sleep(self.latency[source])
        finally:
            self.in_flight -= 1
        queue = self.failures.get(source)
        outcome: Canned | str | None = None
        if queue:
            outcome = queue.pop(0) if len(queue) > 1 else queue[0]
        if outcome in ("timeout", "junk"):
            return outcome
        if isinstance(outcome, Canned):
            return outcome
        if source in ("arxiv", "ncbi"):
            fake = self.arxiv if source == "arxiv" else self.ncbi
            return Canned(*fake.answer(dict(params or {}), unknown=outcome == "unknown"))
        if source == "openalex" and path.rstrip("/") == "/works":
            return self._search(dict(params or {}))
        if source == "crossref" and path.rstrip("/") == "/works":
            return self._crossref_list(dict(params or {}))
        key = request_key(source, path)
        if outcome == "unknown":
            return not_found(source, key, self.fixtures)
        canned = self._lookup(source, key)
        if source == "openalex" and (params or {}).get("select") and canned.status == 200:
            return _selected(canned, (params or {})["select"])
        return canned

    def _openalex_records(self) -> list[dict]:
        """The recorded OpenAlex works, parsed once per world (list filters scan them)."""
        if self._records is None:
            self._records = [json.loads(p.read_bytes()) for p in self.files["openalex"].values()]
        return self._records

    def _search(self, params: dict[str, str]) -> Canned:
        """OpenAlex ``/works?filter=…`` over the recorded works, as OpenAlex would answer:

        * ``title.search:words`` — ranked by shared title words;
        * ``openalex:W1|W2`` — the recorded works with those ids;
        * ``cites:W1`` — the recorded works whose ``referenced_works`` hold W1 (``sort`` by
          ``cited_by_count:desc`` honoured);

        ``per-page``, ``page`` (from 1) and ``select`` (root fields) as OpenAlex reads them.

        The envelope's ``meta`` keys are those of the recorded list response
        (``openalex/list-title-search-copper-oxide.json``).
        """
        kind, _, value = params.get("filter", "").partition(":")
        records = self._openalex_records()
        scored: list[tuple[tuple[float, ...], dict]] = []
        if kind == "title.search":
            words = set(_words(value))
            for data in records:
                title_words = set(_words(data.get("display_name") or data.get("title") or ""))
                found = len(words & title_words) / max(1, len(words))
                overlap = len(words & title_words) / max(1, len(words | title_words))
                if words and found >= 0.8:
                    scored.append(((-found, -overlap), data))
        elif kind == "openalex":
            wanted = {f"https://openalex.org/{w}" for w in value.split("|")}
            scored = [((0.0,), d) for d in records if d.get("id") in wanted]
        elif kind == "doi":  # the batch lookup: each DOI as the single-record route has it
            if len(value.split("|")) > 100:  # OpenAlex's MAX_IDS_IN_FILTER (apis.md §1.2)
                message = "Maximum number of values exceeded for doi. Decrease values to 100."
                return Canned(
                    400, json.dumps({"error": "Invalid query", "message": message}).encode()
                )
            for wanted in dict.fromkeys(
                d.lower().removeprefix("https://doi.org/") for d in value.split("|")
            ):
                record = self._parsed("openalex", f"doi:{wanted}")
                if record is not None:
                    scored.append(((0.0,), record))
        elif kind == "cites":
            target = f"https://openalex.org/{value}"
            scored = [
                ((-(d.get("cited_by_count") or 0),), d)
                for d in records
                if target in (d.get("referenced_works") or ())
            ]
        else:
            return Canned(400, json.dumps({"error": f"filter {kind!r} not modelled"}).encode())
        scored.sort(key=lambda item: (*item[0], item[1].get("id") or ""))
        per_page = int(params.get("per-page") or 25)
        page = int(params.get("page") or 1)  # OpenAlex pages from 1
        results = [data for _, data in scored[(page - 1) * per_page : page * per_page]]
        if params.get("select"):  # root fields only, as OpenAlex's select does
            keep = params["select"].split(",")
            results = [{k: data[k] for k in keep if k in data} for data in results]
        meta = {
            "count": len(scored),
            "db_response_time_ms": 1,
            "page": page,
            "per_page": per_page,
            "groups_count": None,
        }
        return Canned(200, json.dumps({"meta": meta, "results": results, "group_by": []}).encode())

    def _crossref_list(self, params: dict[str, str]) -> Canned:
        """Crossref ``/works?filter=doi:a,doi:b`` (the same filter repeated is an OR), in the
        envelope of the recorded list ``crossref/list-sample-5.json``."""
        filters = [f.partition(":") for f in params.get("filter", "").split(",")]
        if not filters or any(name != "doi" for name, _, _ in filters):
            return Canned(
                400, json.dumps({"status": "failed", "message-type": "validation-failure"}).encode()
            )
        items = []
        for _, _, wanted in filters:
            record = self._parsed("crossref", f"doi:{wanted.lower()}")
            if record is not None:
                items.append(record["message"])
        rows = int(params.get("rows") or 20)
        message = {
            "facets": {},
            "total-results": len(items),
            "items": items[:rows],
            "items-per-page": rows,
            "query": {"start-index": 0, "search-terms": None},
        }
        envelope = {"status": "ok", "message-type": "work-list", "message-version": "1.0.0"}
        return Canned(200, json.dumps({**envelope, "message": message}).encode())

    async def handler(self, request: httpx.Request) -> httpx.Response:
        source = HOSTS[request.url.host]
        self.requests.append(request)
        canned = await self.respond(source, request.url.path, dict(request.url.params))
        if canned == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if canned == "junk":
            canned = JUNK
        assert isinstance(canned, Canned)
        return httpx.Response(
            canned.status,
            content=canned.body,
            headers={"Content-Type": canned.content_type, **canned.headers},
        )

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values = {
        "LITBOT_OPENALEX_URL": BASES["openalex"],
        "LITBOT_CROSSREF_URL": BASES["crossref"],
        "LITBOT_UNPAYWALL_URL": BASES["unpaywall"],
        "LITBOT_S2_URL": BASES["s2"],
        "LITBOT_DATACITE_URL": BASES["datacite"],
        "LITBOT_ARXIV_URL": BASES["arxiv"],
        "LITBOT_NCBI_URL": BASES["ncbi"],
        "LITBOT_DB": str(tmp_path / "litbot.sqlite3"),
        "LITBOT_CONTACT_EMAIL": "lab@example.org",
        **overrides,
    }
    return Settings(_env_file=None, **values)


def with_retraction(record: bytes | str, notice: str, date: tuple[int, int, int]) -> str:
    """A recorded Crossref work record, now reporting its retraction: the ``updated-by`` entry
    apis.md §2.4 documents (no recorded body of a retracted work exists yet)."""
    body = json.loads(record)
    body["message"]["updated-by"] = [
        {
            "DOI": notice,
            "type": "retraction",
            "label": "Retraction",
            "source": "retraction-watch",
            "updated": {"date-parts": [list(date)]},
        }
    ]
    return json.dumps(body)
