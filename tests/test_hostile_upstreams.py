"""Every fault an upstream can serve, per source, through real sockets and the real client.

The faulty source is pointed at ``tests.fakes.faults`` on 127.0.0.1, the others at the replay
server; the lookup must degrade only the faulty source (or, with every source faulty, fail with
``UpstreamError``), within the configured deadline, whatever the fault.
"""

from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import pytest

from bot.errors import UpstreamError
from bot.identifiers import parse_identifier
from bot.models import Identifier, IdKind
from bot.papers import LATE_SOURCES, PaperService
from bot.settings import Settings
from bot.sources import build_upstreams, make_client, openalex
from bot.sources._http import (
    MAX_JSON_DEPTH,
    SourceError,
    Upstream,
    parse_json,
    parse_retry_after,
    read_body,
)
from bot.sources.fairness import FairLimiter
from bot.storage.database import open_database
from bot.storage.works import WorkCache
from tests.conftest import SYNTHETIC
from tests.fakes.arxiv_ncbi import entry_from_datacite
from tests.fakes.faults import FAULTS, FaultServer
from tests.fakes.upstreams import FIXTURES, SETTING, UpstreamServer
from tests.upstream_mock import MockUpstreams, make_settings

# Known to Crossref, OpenAlex, Unpaywall and Semantic Scholar in the recorded fixtures.
CROSSREF_DOI = "10.1016/j.addr.2015.01.008"
# A DataCite DOI (an arXiv preprint): DataCite, and arXiv (an entry built from that record).
DATACITE_DOI = "10.48550/arxiv.2311.16162"
# An arXiv preprint only arXiv knows in the recordings.
ARXIV_ONLY = "arXiv:2201.13452"
# A PMCID: OpenAlex and NCBI resolve it (to 10.1073/pnas.1414271111), then every DOI source.
PMCID = "PMC4234579"
SOURCES = ("openalex", "crossref", "unpaywall", "s2", "datacite", "arxiv", "ncbi")
# Per attempt. A fault costs at most two of them; a dozen worlds looking up at once on a busy
# machine (the test suite runs beside others) answer well within one.
DEADLINE = 1.0


@pytest.fixture(scope="module")
def faults():
    server = FaultServer().start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
async def replay():
    world = MockUpstreams(FIXTURES)
    world.add("openalex", "10.1186/s12943-023-01737-7", SYNTHETIC / "openalex-seed.json")
    # arXiv's entry of 2311.16162, built from its recorded DataCite record (dates and primary
    # category read off that record), so that two sources know the preprint.
    world.arxiv.add(
        entry_from_datacite(
            FIXTURES,
            "datacite/arxiv-2311-16162.json",
            version=1,
            published="2023-11-09T11:44:22Z",
            updated="2023-11-09T11:44:22Z",
            category="cs.DL",
        )
    )
    async with UpstreamServer(world) as running:
        yield running


def settings_for(tmp_path, env: dict[str, str]) -> Settings:
    return Settings(
        _env_file=None,
        **env,
        LITBOT_DB=str(tmp_path / "hostile.sqlite3"),
        LITBOT_HTTP_TIMEOUT=str(DEADLINE),
        LITBOT_HTTP_RETRIES="1",
        LITBOT_MAX_RETRY_WAIT="0.2",
    )


async def prepare(tmp_path, env: dict[str, str], name: str):
    """A fresh world (settings, database, the real client, services) on ``env``'s upstreams."""
    folder = tmp_path / name
    folder.mkdir()
    settings = settings_for(folder, env)
    db = await open_database(settings.db_path)
    client = make_client(settings)
    # arXiv's own limit (one request in 3 s) would only slow the retries down here.
    upstreams = build_upstreams(settings, client, rate_limits={"arxiv": (10.0, 10, 1)})
    # Late sources get time to answer (a healthy one always does: its answer is on the card);
    # a faulty one is never waited for longer than its own deadline.
    service = PaperService(upstreams, WorkCache(db), late_grace=2 * DEADLINE + 1)
    return service, db, client


async def run(world, query: str):
    """One cold lookup of ``query`` (a DOI, arXiv id or PMCID): the work or the error."""
    service, db, client = world
    try:
        try:
            # the card once every source has answered (or failed): what its last edit shows
            result = await asyncio.wait_for(service.final(parse_identifier(query)), 20)
        except UpstreamError as error:
            result = error
        await asyncio.wait_for(service.drain(), 20)  # late sources end too
        return result
    finally:
        await client.aclose()
        await db.close()


async def lookup(tmp_path, env: dict[str, str], query: str, name: str):
    return await run(await prepare(tmp_path, env, name), query)


async def lookups(tmp_path, runs: list[tuple[dict[str, str], str, str]]):
    """Many lookups at once. Every world is set up first: a client costs ~0.2 s of CPU (its
    TLS context) and a database its migrations, which would otherwise eat into the deadline
    of the lookups already under way."""
    worlds = [await prepare(tmp_path, env, name) for env, _, name in runs]
    return await asyncio.gather(
        *(run(world, query) for world, (_, query, _) in zip(worlds, runs, strict=True))
    )


QUERIES = (CROSSREF_DOI, DATACITE_DOI, ARXIV_ONLY, PMCID)


def _folder(query: str) -> str:
    return query.replace("/", "_").replace(":", "_")


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_one_faulty_source_degrades_only_itself(fault, faults, replay, tmp_path):
    healthy = {
        q: set((await lookup(tmp_path, replay.env, q, f"healthy-{_folder(q)}")).sources)
        for q in QUERIES
    }
    assert healthy[CROSSREF_DOI] == {"openalex", "crossref", "unpaywall", "s2"}
    assert healthy[DATACITE_DOI] == {"datacite", "arxiv"}
    assert healthy[ARXIV_ONLY] == {"arxiv"}
    assert healthy[PMCID] == {"openalex", "crossref", "unpaywall", "s2", "ncbi"}

    def faulty(source: str) -> dict[str, str]:
        return {**replay.env, SETTING[source]: faults.url(fault)}

    runs = [(s, CROSSREF_DOI) for s in SOURCES if s not in ("datacite", "arxiv")]
    runs += [("datacite", DATACITE_DOI), ("openalex", DATACITE_DOI), ("s2", DATACITE_DOI)]
    later = [("arxiv", DATACITE_DOI), ("arxiv", ARXIV_ONLY)]
    later += [("ncbi", PMCID), ("openalex", PMCID)]  # either resolves the PMCID alone
    # Two waves: a dozen worlds at once, each with its faulty request (64 MiB streams, a fault
    # server in a thread of this process), hold the healthy answers past the deadline on a
    # busy machine.
    works = []
    for wave in (runs, later):
        works += await lookups(tmp_path, [(faulty(s), d, f"{s}-{_folder(d)}") for s, d in wave])
    runs += later
    for (source, doi), work in zip(runs, works, strict=True):
        where = f"{fault} at {source} for {doi}"
        if not healthy[doi] - {source}:  # the faulty source was the only one to know it
            assert isinstance(work, UpstreamError), f"{where}: {work!r}"
            continue
        assert not isinstance(work, Exception), f"{where} failed the card: {work}"
        assert source not in work.sources, f"{where}: its junk reached the card"
        assert set(work.sources) == healthy[doi] - {source}, where
        assert work.title, f"{where}: the healthy sources' card has no title"
        if source not in LATE_SOURCES:  # the card does not wait to see a late source fail
            assert source in work.missing, f"{where} not named as failed"


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_every_source_faulty_is_an_upstream_error(fault, faults, tmp_path):
    env = {SETTING[s]: faults.url(fault) for s in SOURCES}
    results = await lookups(tmp_path, [(env, q, _folder(q)) for q in QUERIES])
    for query, result in zip(QUERIES, results, strict=True):
        assert isinstance(result, UpstreamError), f"{fault} for {query}: {result!r}"


# -- the bounded reader, unit by unit ---------------------------------------------------------


def test_json_depth_limit_counts_before_parsing():
    with pytest.raises(ValueError):
        parse_json(b"[" * 100_000)
    with pytest.raises(ValueError):
        parse_json(b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1))
    ok = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert parse_json(ok) is not None
    # brackets inside strings are text, not nesting
    assert parse_json(json.dumps({"t": "[" * 10_000}).encode()) == {"t": "[" * 10_000}
    assert parse_json(b'{"t": "a\\"[[["}') == {"t": 'a"[[['}


def test_non_utf8_json_is_malformed():
    with pytest.raises(UnicodeDecodeError):
        parse_json('{"t": "caf\u00e9"}'.encode("latin-1"))
    assert parse_json('\ufeff{"t": "é"}'.encode("utf-8")) == {"t": "é"}
    assert parse_json('{"t": "é"}'.encode("utf-16")) == {"t": "é"}


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("3", 3.0), ("0.5", 0.5), ("-4", 0.0), ("nan", None), ("soon", None), ("", None)],
)
def test_retry_after_seconds(value, seconds):
    assert parse_retry_after(value) == seconds


def test_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert parse_retry_after("Wed, 99 Foo 99999 99:99:99 GMT") is None


def _response(body: bytes, **headers: str) -> httpx.Response:
    async def stream():
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    return httpx.Response(200, headers=headers, stream=_Stream(stream()))


class _Stream(httpx.AsyncByteStream):
    def __init__(self, agen) -> None:
        self.agen = agen

    async def __aiter__(self):
        async for chunk in self.agen:
            yield chunk


async def test_body_cap_holds_after_decompression():
    body = gzip.compress(b"0" * 100_000)
    assert len(await read_body(_response(body, **{"content-encoding": "gzip"}), 100_000)) == 100_000
    with pytest.raises(Exception, match="exceeds"):
        await read_body(_response(body, **{"content-encoding": "gzip"}), 99_999)
    with pytest.raises(Exception, match="exceeds"):
        await read_body(_response(b"x" * 10, **{"content-length": "10000000"}), 1000)
    with pytest.raises(Exception, match="exceeds"):
        await read_body(_response(b"x" * 5000), 1000)
    with pytest.raises(Exception, match="encoding"):
        await read_body(_response(b"x", **{"content-encoding": "br"}), 1000)


async def test_truncated_gzip_is_an_error():
    body = gzip.compress(b"0" * 100_000)[:-20]
    with pytest.raises(Exception, match="truncated"):
        await read_body(_response(body, **{"content-encoding": "gzip"}), 1_000_000)


async def test_redirects_are_followed_a_bounded_number_of_times_and_drop_keys(replay):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.test":
            return httpx.Response(302, headers={"Location": "http://elsewhere.test/x"})
        return httpx.Response(200, json={"ok": True})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        up = Upstream(
            client, "api", "http://api.test", FairLimiter(100), headers={"x-api-key": "secret"}
        )
        assert await up.get_json("/a") == {"ok": True}
    assert seen[0].headers["x-api-key"] == "secret"
    assert "x-api-key" not in seen[1].headers  # the key does not follow a redirect off-host

    def loop(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": str(request.url)})

    seen.clear()
    async with httpx.AsyncClient(transport=httpx.MockTransport(loop)) as client:
        up = Upstream(client, "api", "http://api.test", FairLimiter(100))
        with pytest.raises(SourceError, match="redirects"):
            await up.get_json("/a")
    assert len(seen) == 6  # the request and five redirects, then it stops


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_openalex_lists_fail_as_the_source(fault, faults, tmp_path):
    """Neighbourhoods and title search read OpenAlex lists: every fault is OpenAlex's error."""
    settings = settings_for(tmp_path, {"LITBOT_OPENALEX_URL": faults.url(fault)})
    async with make_client(settings) as client:
        up = build_upstreams(settings, client).openalex
        with pytest.raises(SourceError):
            await openalex.list_works(up, "cites:W2741809807", per_page=10)
        with pytest.raises(SourceError):
            await openalex.search_title(up, "antisense oligonucleotides")


# -- records of the right shape with poisoned values (found by an outside red team) ----------


def _poisoned(source: str, poison) -> bytes:
    """The recorded answer of ``source`` for CROSSREF_DOI, with ``poison`` applied."""
    folder = {"s2": "semanticscholar"}.get(source, source)
    data = json.loads((FIXTURES / folder / "addr-2015.json").read_text())
    poison(data)
    return json.dumps(data).encode()


def _set(path: tuple, value):
    def poison(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return poison


POISONS = {
    "unpaywall url is a list": ("unpaywall", _set(("best_oa_location", "url"), ["https://x"])),
    "unpaywall url is a bad IPv6 host": (
        "unpaywall",
        _set(("best_oa_location", "url"), "http://[::1/x"),
    ),
    "semantic scholar pdf url is an object": ("s2", _set(("openAccessPdf", "url"), {"a": 1})),
    "openalex repository url is a number": (
        "openalex",
        _set(("locations", 1, "landing_page_url"), 12345),
    ),
    "crossref doi is a list": ("crossref", _set(("message", "DOI"), ["10.1/x"])),
    "crossref title is a number": ("crossref", _set(("message", "title"), 5)),
}


async def _lookup_served(fixtures_dir, tmp_path, source: str, body: bytes):
    """A cold lookup of CROSSREF_DOI with ``source`` answering ``body`` (rate limits lifted)."""
    mock = MockUpstreams(fixtures_dir)
    mock.add(source, CROSSREF_DOI, body)
    settings = make_settings(tmp_path)
    db = await open_database(settings.db_path)
    try:
        async with mock.client() as client:
            upstreams = build_upstreams(
                settings, client, rate_limits={s: (1e6, 10**6, 100) for s in SOURCES}
            )
            service = PaperService(upstreams, WorkCache(db), late_grace=5)
            work = await service.lookup(Identifier(IdKind.DOI, CROSSREF_DOI, CROSSREF_DOI))
            await service.drain()
            return work
    finally:
        await db.close()


@pytest.mark.parametrize("name", sorted(POISONS))
async def test_poisoned_values_degrade_only_their_source(name, fixtures_dir, tmp_path):
    source, poison = POISONS[name]
    work = await _lookup_served(fixtures_dir, tmp_path, source, _poisoned(source, poison))
    assert work.title
    assert source == "crossref" or "crossref" in work.sources
    json.dumps(work.to_dict(), ensure_ascii=False).encode("utf-8")  # printable, storable


async def test_lone_surrogates_become_replacement_characters(fixtures_dir, tmp_path):
    """``\\ud800`` in a DOI, title or URL used to crash the cache write and the terminal."""
    raw = (FIXTURES / "crossref" / "addr-2015.json").read_text()
    raw = raw.replace('"title":["', '"title":["\\ud800', 1)
    assert "\\ud800" in raw
    body = raw.encode()
    assert "\ufffd" in json.dumps(parse_json(body), ensure_ascii=False)
    work = await _lookup_served(fixtures_dir, tmp_path, "crossref", body)
    work.title.encode("utf-8")
    assert "\ufffd" not in work.title  # cleaned away, and nothing else lost


def test_json_bodies_that_would_cost_too_much_are_refused():
    with pytest.raises(ValueError, match="values"):
        parse_json(b"[" + b"{}," * 400_000 + b"{}]")
    with pytest.raises(ValueError):
        parse_json(b'"' + b'\\"' * 400_000)  # was quadratic in the old depth pre-scan
    with pytest.raises(ValueError):
        parse_json(b"[NaN, Infinity]")
    with pytest.raises(ValueError):
        parse_json(b"[1e999]")
