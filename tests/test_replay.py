"""The real CLI process against the 127.0.0.1 replay server: the issue's acceptance path.

``litbot paper --json`` runs as a subprocess with every ``LITBOT_*_URL`` pointed at
``tests.fakes.upstreams``; nothing is patched in the process under test.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import unicodedata
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import SYNTHETIC
from tests.fakes.upstreams import FIXTURES, UpstreamServer, environment
from tests.fakes.upstreams import main as replay_main
from tests.upstream_mock import Canned, MockUpstreams

SEED = "10.1186/s12943-023-01737-7"
REPO = Path(__file__).resolve().parents[1]


async def litbot(server: UpstreamServer, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITBOT_", "DISCORD_", "S2_"))}
    env.update(server.env)
    env.update(
        LITBOT_DB=str(tmp_path / "replay.sqlite3"),
        LITBOT_HTTP_RETRIES="0",
        LITBOT_HTTP_TIMEOUT="2",
        PYTHONPATH=str(REPO),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=tmp_path,  # no stray .env
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def server():
    world = MockUpstreams(FIXTURES)
    world.add("openalex", SEED, SYNTHETIC / "openalex-seed.json")
    world.add("crossref", SEED, SYNTHETIC / "crossref-seed.json")
    async with UpstreamServer(world) as running:
        yield running
    assert running.unmodelled == [], "litbot asked for a route the fake does not model"


def clean(text: str) -> bool:
    return (
        "<" not in text
        and "&amp;" not in text
        and "&#" not in text
        and "\ufffd" not in text
        and unicodedata.is_normalized("NFC", text)
    )


async def test_seed_paper_through_the_real_cli(server, tmp_path):
    code, out, err = await litbot(server, tmp_path, "paper", SEED, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["doi"] == SEED
    assert [a["family"] for a in data["authors"]] == ["Zhou", "Lu", "Liu", "Li"]
    assert (data["venue"], data["year"]) == ("Molecular Cancer", 2023)
    assert data["access"]["licence"] == "cc-by"
    assert data["provenance"]["title"] == "crossref"
    assert server.world.calls["crossref"] == 1 and server.world.calls["openalex"] == 1


RECORDED = {
    # DOI: (title start, family names in order, year, licence) — read off the recorded bodies
    "10.7554/elife.01567": (
        "Automated quantitative histology",
        ["Sankar", "Nieminen"],
        2014,
        "cc-by",
    ),
    "10.1016/j.addr.2015.01.008": (
        "Pharmacokinetics, biodistribution",
        ["Geary", "Norris"],
        2015,
        "cc-by-nc-nd",
    ),
    "10.1145/3448016.3452841": ("Vector Quotient Filters", ["Pandey", "Conway"], 2021, "cc-by"),
    "10.1163/1937240x-00002096": (
        "Global distribution of Fabaeformiscandona",
        ["Escrivà", "Mesquita‐Joanes"],
        2012,
        None,
    ),
}


@pytest.mark.parametrize("doi", sorted(RECORDED))
async def test_recorded_works_come_out_clean_and_identical_for_every_doi_form(
    server, tmp_path, doi
):
    forms = [
        doi,
        f"doi:{doi.upper()}",
        f"https://doi.org/{doi}",
        f"https://dx.doi.org/{quote(doi, safe='')}",
        f"(see {doi}).",
    ]
    folders = [tmp_path / str(i) for i in range(len(forms))]  # one cold cache each
    for folder in folders:
        folder.mkdir()
    runs = await asyncio.gather(
        *(
            litbot(server, folder, "paper", form, "--json")
            for folder, form in zip(folders, forms, strict=True)
        )
    )
    outputs = []
    for code, out, err in runs:
        assert code == 0, err
        data = json.loads(out)
        data.pop("fetched_at")
        outputs.append(data)
    assert all(o == outputs[0] for o in outputs), "the DOI form changed the answer"
    data = outputs[0]
    title_start, families, year, licence = RECORDED[doi]
    assert data["doi"] == doi and clean(data["title"])
    assert data["title"].startswith(title_start)
    assert data["authors"] and all(clean(a["name"]) for a in data["authors"])
    assert all(a["family"] for a in data["authors"] if a["given"])
    assert [a["family"] for a in data["authors"][: len(families)]] == families
    assert data["year"] == year
    assert data["access"]["licence"] == licence
    assert {"title", "authors", "year", "venue"} <= set(data["provenance"])
    assert set(data["provenance"].values()) <= {
        "openalex",
        "crossref",
        "unpaywall",
        "s2",
        "datacite",
        "local",
    }


async def test_unknown_doi_exits_2_and_upstream_trouble_exits_3(server, tmp_path):
    code, out, err = await litbot(server, tmp_path, "paper", "10.1234/not-a-real-doi", "--json")
    assert code == 2 and "10.1234/not-a-real-doi" in err and out == ""
    assert len(err.strip().splitlines()) == 1

    for source in ("openalex", "crossref", "unpaywall", "s2", "datacite"):
        server.world.fail(source, Canned(503, b"upstream down", "text/plain"))
    code, _, err = await litbot(server, tmp_path, "paper", "10.7554/elife.01567", "--json")
    assert code == 3 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


async def test_one_source_down_still_answers_and_names_it(server, tmp_path):
    server.world.fail("crossref", "timeout")
    code, out, err = await litbot(server, tmp_path, "paper", "10.7554/elife.01567", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert "crossref" in data["missing"] and data["provenance"]["title"] == "openalex"


async def test_title_search_through_the_server(server, tmp_path):
    code, out, err = await litbot(
        server, tmp_path, "paper", "Automated quantitative histology reveals", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["doi"] == "10.7554/elife.01567"
    assert any("Best match" in note for note in data["notes"])


async def test_server_fails_loudly_on_routes_it_does_not_model():
    async with UpstreamServer(MockUpstreams(FIXTURES)) as running:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{running.base}/openalex/authors/A123")
        assert response.status_code == 501
        assert running.unmodelled == ["GET /openalex/authors/A123"]


def test_print_env_names_every_upstream_setting(capsys):
    assert replay_main(["--port", "9999", "--print-env"]) == 0
    lines = capsys.readouterr().out.split()
    assert lines == [f"{k}={v}" for k, v in environment("http://127.0.0.1:9999").items()]
    assert len(lines) == 7  # every LITBOT_*_URL upstream setting


async def test_pmid_and_arxiv_queries_through_the_server(server, tmp_path):
    for query in ("PMID: 25349395", "PMC4234579"):
        code, out, err = await litbot(server, tmp_path, "paper", query, "--json")
        assert code == 0, err
        assert json.loads(out)["doi"] == "10.1073/pnas.1414271111"
    code, out, err = await litbot(
        server, tmp_path, "paper", "https://arxiv.org/abs/2311.16162v1", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["doi"] == "10.48550/arxiv.2311.16162" and data["provenance"]["title"] == "datacite"
