"""Identifier parsing: every input form in DESIGN §3 and the tricky DOIs of research/apis.md §6."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bot.identifiers
from bot.errors import InvalidIdentifier
from bot.identifiers import MAX_QUERY_LENGTH, find_identifiers, parse_identifier
from bot.models import Identifier, IdKind

SEED = "10.1186/s12943-023-01737-7"
SEED_TITLE = "NK cells are never alone: crosstalk and communication in tumour microenvironments"
EXAMPLE_IN_MESSAGE = "10.1186/s12943-023-01737-7"

# Every spelling of the seed paper's DOI a user might paste.
SEED_FORMS = [
    SEED,
    f"doi:{SEED}",
    f"DOI: {SEED}",
    f"doi {SEED}",
    f"info:doi/{SEED}",
    f"urn:doi:{SEED}",
    f"https://doi.org/{SEED}",
    f"http://dx.doi.org/{SEED}",
    f"doi.org/{SEED}",
    f"https://www.doi.org/{SEED}",
    f"https://hdl.handle.net/{SEED}",
    f"https://link.springer.com/article/{SEED}",
    f"https://molecular-cancer.biomedcentral.com/articles/{SEED}",
    f"https://molecular-cancer.biomedcentral.com/articles/{SEED}#Abs1",
    f"https://link.springer.com/content/pdf/{SEED}.pdf",
    f"https://link.springer.com/article/{SEED};jsessionid=8A3B1C",
    f"https://link.springer.com/article/{SEED}?utm_source=twitter",
    "10.1186%2Fs12943-023-01737-7",
    "https://doi.org/10.1186%2Fs12943-023-01737-7",
    "https%3A%2F%2Fdoi.org%2F10.1186%2Fs12943-023-01737-7",
    f"doi: https://doi.org/{SEED}",
    SEED.upper(),
    "10.1186/S12943-023-01737-7",
    f"{SEED}.",
    f"{SEED}),",
    f"{SEED}]",
    f"({SEED}).",
    f"(see {SEED}).",
    f"<{SEED}>",
    f"<https://doi.org/{SEED}>",
    f'"{SEED}"',
    f"“{SEED}”",
    f"`{SEED}`",
    f"**{SEED}**",
    f"  \u200b{SEED}\ufeff  ",
    f"{SEED} NK cells are never alone",
]


@pytest.mark.parametrize("text", SEED_FORMS)
def test_every_form_of_the_seed_doi_gives_the_same_identifier(text):
    ident = parse_identifier(text)
    assert ident.kind is IdKind.DOI
    assert ident.value == SEED
    assert ident.key == f"doi:{SEED}"
    assert ident.raw == text  # what the user typed, for messages


def test_seed_forms_share_one_key():
    assert len({parse_identifier(text).key for text in SEED_FORMS}) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # publisher links with the DOI in the path, a view page before or after it
        ("https://onlinelibrary.wiley.com/doi/full/10.1002/ece3.2314", "10.1002/ece3.2314"),
        ("https://onlinelibrary.wiley.com/doi/abs/10.1002/ece3.2314", "10.1002/ece3.2314"),
        ("https://onlinelibrary.wiley.com/doi/10.1002/ece3.2314/abstract", "10.1002/ece3.2314"),
        ("https://onlinelibrary.wiley.com/doi/epdf/10.1002/ece3.2314", "10.1002/ece3.2314"),
        (
            "https://onlinelibrary.wiley.com/doi/pdfdirect/10.1002/ece3.2314?download=true",
            "10.1002/ece3.2314",
        ),
        ("https://onlinelibrary.wiley.com/doi/10.1002/ece3.2314/full/", "10.1002/ece3.2314"),
        (
            "https://pubs.acs.org/doi/10.1021/acsearthspacechem.4c00298",
            "10.1021/acsearthspacechem.4c00298",
        ),
        (
            "https://www.tandfonline.com/doi/full/10.1080/14786419.2020.1753051",
            "10.1080/14786419.2020.1753051",
        ),
        (
            "https://academic.oup.com/bioinformatics/article-lookup/doi/10.1093/bioinformatics/btw053",
            "10.1093/bioinformatics/btw053",
        ),
        (
            "https://www.frontiersin.org/articles/10.3389/fpsyg.2020.01234/full",
            "10.3389/fpsyg.2020.01234",
        ),
        # the DOI in a query parameter: cut at the next parameter, not at "?"
        (
            "https://journals.plos.org/plosone/article?id=10.1371/journal.pone.0000030",
            "10.1371/journal.pone.0000030",
        ),
        (
            "https://journals.plos.org/plosone/article?id=10.1371/journal.pone.0000030&type=printable",
            "10.1371/journal.pone.0000030",
        ),
        # bioRxiv links add a version and a view; Nature and eLife links carry only the suffix
        (
            "https://www.biorxiv.org/content/10.1101/2020.03.22.002386v3.full",
            "10.1101/2020.03.22.002386",
        ),
        ("https://www.nature.com/articles/s41586-020-2649-2", "10.1038/s41586-020-2649-2"),
        ("https://elifesciences.org/articles/01567", "10.7554/elife.01567"),
        # real DOIs that defeat naive patterns (research/apis.md §6)
        (
            "10.1890/0012-9658(2006)87[2832:tiopma]2.0.co;2",
            "10.1890/0012-9658(2006)87[2832:tiopma]2.0.co;2",
        ),
        (
            "10.1890/0012-9615(1999)069[0569:EDILSA]2.0.CO;2",
            "10.1890/0012-9615(1999)069[0569:edilsa]2.0.co;2",
        ),
        (
            "https://doi.org/10.1890%2F0012-9658%282006%2987%5B2832%3ATIOPMA%5D2.0.CO%3B2",
            "10.1890/0012-9658(2006)87[2832:tiopma]2.0.co;2",
        ),
        (
            "(10.1890/0012-9658(2006)87[2832:tiopma]2.0.co;2).",
            "10.1890/0012-9658(2006)87[2832:tiopma]2.0.co;2",
        ),
        ("10.1175//2572.1", "10.1175//2572.1"),
        ("10.1111/(issn)1442-9993", "10.1111/(issn)1442-9993"),
        ("(10.1111/(issn)1442-9993)", "10.1111/(issn)1442-9993"),
        ("10.1023/A:1007154515475", "10.1023/a:1007154515475"),
        ("10.7287/peerj.3819v0.1/reviews/2", "10.7287/peerj.3819v0.1/reviews/2"),
        ("10.2210/pdb4hhb/pdb", "10.2210/pdb4hhb/pdb"),
        ("https://doi.org/10.2210/pdb4hhb/pdb", "10.2210/pdb4hhb/pdb"),
        ("10.1371/journal.pmed.0030277.g001", "10.1371/journal.pmed.0030277.g001"),
        ("10.7554/eLife.55167.sa2", "10.7554/elife.55167.sa2"),
        ("10.4018/978-1-4666-1891-6.ch004", "10.4018/978-1-4666-1891-6.ch004"),
        ("10.3892/ijo_00000353", "10.3892/ijo_00000353"),
        ("10.53731/ybhah-9jy85", "10.53731/ybhah-9jy85"),
        ("10.1093/nar/gkw1164", "10.1093/nar/gkw1164"),
        ("10.1093/bioinformatics/btw053", "10.1093/bioinformatics/btw053"),
        ("10.1016/j.addr.2015.01.008", "10.1016/j.addr.2015.01.008"),
        ("10.1016%2Fj.addr.2015.01.008", "10.1016/j.addr.2015.01.008"),
        ("<10.1234/abc>", "10.1234/abc"),
        ("10.1000.10/123", "10.1000.10/123"),
        # a DOI for an arXiv paper stays a DOI
        ("https://doi.org/10.48550/arXiv.2004.15011", "10.48550/arxiv.2004.15011"),
        ("10.48550/arXiv.2311.16162", "10.48550/arxiv.2311.16162"),
        # a DOI anywhere in running text wins over a title search
        ("see https://doi.org/10.1093/nar/gkw1164 for details", "10.1093/nar/gkw1164"),
        ("Nucleic Acids Research 2017 (doi:10.1093/nar/gkw1164).", "10.1093/nar/gkw1164"),
    ],
)
def test_doi(text, expected):
    ident = parse_identifier(text)
    assert (ident.kind, ident.value, ident.version) == (IdKind.DOI, expected, None)


@pytest.mark.parametrize(
    ("text", "value", "version"),
    [
        ("2004.15011", "2004.15011", None),
        ("2004.15011v3", "2004.15011", 3),
        ("arXiv:2004.15011v3", "2004.15011", 3),
        ("arxiv:2004.15011", "2004.15011", None),
        ("arXiv: 2004.15011", "2004.15011", None),
        ("arXiv 2004.15011", "2004.15011", None),
        ("0704.0001", "0704.0001", None),
        ("2312.07559", "2312.07559", None),
        ("hep-th/9711200", "hep-th/9711200", None),
        ("hep-th/9711200v2", "hep-th/9711200", 2),
        ("arXiv:hep-th/9711200", "hep-th/9711200", None),
        ("math.GT/0309136", "math.GT/0309136", None),
        ("math.gt/0309136", "math.GT/0309136", None),
        ("cond-mat/0011267", "cond-mat/0011267", None),
        ("atom-ph/9601001", "atom-ph/9601001", None),
        ("https://arxiv.org/abs/2004.15011", "2004.15011", None),
        ("https://arxiv.org/abs/2004.15011v2", "2004.15011", 2),
        ("http://arxiv.org/pdf/2004.15011v2", "2004.15011", 2),
        ("https://arxiv.org/pdf/2004.15011.pdf", "2004.15011", None),
        ("https://export.arxiv.org/abs/hep-th/9711200", "hep-th/9711200", None),
        ("arxiv.org/abs/hep-th/9711200v1", "hep-th/9711200", 1),
        ("https://www.arxiv.org/html/2312.07559v1", "2312.07559", 1),
        ("(https://arxiv.org/abs/2004.15011).", "2004.15011", None),
        ("2004.15011.", "2004.15011", None),
        ("Attention is all you need arXiv:1706.03762", "1706.03762", None),
    ],
)
def test_arxiv(text, value, version):
    ident = parse_identifier(text)
    assert (ident.kind, ident.value, ident.version) == (IdKind.ARXIV, value, version)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("PMID: 12345678", "12345678"),
        ("pmid:12345678", "12345678"),
        ("PMID 12345678", "12345678"),
        ("PMID:12345678.", "12345678"),
        ("12345678", "12345678"),
        ("1", "1"),
        ("00012345", "12345"),
        ("https://pubmed.ncbi.nlm.nih.gov/12345678/", "12345678"),
        ("https://www.ncbi.nlm.nih.gov/pubmed/12345678", "12345678"),
        ("https://europepmc.org/article/MED/12345678", "12345678"),
        ("(PMID: 12345678)", "12345678"),
    ],
)
def test_pmid(text, value):
    ident = parse_identifier(text)
    assert (ident.kind, ident.value) == (IdKind.PMID, value)


@pytest.mark.parametrize(
    "text",
    [
        "PMC9933398",
        "pmc9933398",
        "PMCID: PMC9933398",
        "PMCID: 9933398",
        "PMC9933398,",
        "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC9933398/",
        "https://pmc.ncbi.nlm.nih.gov/articles/PMC9933398/",
        "https://europepmc.org/article/PMC/PMC9933398",
    ],
)
def test_pmcid(text):
    ident = parse_identifier(text)
    assert (ident.kind, ident.value) == (IdKind.PMCID, "PMC9933398")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SEED_TITLE, SEED_TITLE),
        (f'"{SEED_TITLE}"', SEED_TITLE),
        (f"“{SEED_TITLE}”", SEED_TITLE),
        ("  NK cells   are\nnever alone  ", "NK cells are never alone"),
        (
            "Cafe\u0301 society and the ecology of foraging",
            "Café society and the ecology of foraging",
        ),
        ("Doi Inthanon forest dynamics", "Doi Inthanon forest dynamics"),
        ("arXiv preprints in physics", "arXiv preprints in physics"),
        ("Photosynthesis", "Photosynthesis"),  # one word, but long enough to search
        ("T cell exhaustion", "T cell exhaustion"),  # short, but three words
    ],
)
def test_title(text, expected):
    ident = parse_identifier(text)
    assert (ident.kind, ident.value) == (IdKind.TITLE, expected)


INVALID = [
    "",
    "   ",
    "\u200b\ufeff",
    '""',
    "x" * (MAX_QUERY_LENGTH + 1),
    "word " * 120,
    # broken DOIs
    "10.1234",
    "10.1186/",
    "10.12/abc",
    "doi:",
    "DOI: ",
    "doi:abc",
    "urn:doi:",
    "https://doi.org/",
    "https://doi.org/abc",
    "https://hdl.handle.net/1721.1/12345",
    # links without an identifier
    "https://example.com/paper",
    "https://www.sciencedirect.com/science/article/pii/S0169409X15000174",
    "https://ieeexplore.ieee.org/document/123",
    "https://academic.oup.com/nar/article/45/D1/D158/2605721",
    "example.com/paper",
    "https://arxiv.org/list/hep-th/new",
    "https://pubmed.ncbi.nlm.nih.gov/?term=cancer",
    "https://pmc.ncbi.nlm.nih.gov/about/",
    # broken arXiv ids
    "arXiv:abc",
    "arXiv:",
    "2013.12345",  # month 13
    "2004.15011v0",
    "0612.1234",  # new-style numbers began in April 2007
    "1501.1234",  # four-digit numbers ended in 2014
    "hep-th/9713200",  # month 13, old style
    # broken PMIDs and PMCIDs
    "PMID: 12a",
    "PMID:",
    "123456789",  # nine digits: no PMID is that long
    "0",
    "PMC12a",
    "PMCID: abc",
    # not a title
    "CRISPR",
    "CRISPR Cas9",
    "PMCabc",
    "12345678901234567890xyz",
    "1.5",
    "123 456",
    "!!! ???",
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_input_is_refused_with_a_short_helpful_message(text):
    with pytest.raises(InvalidIdentifier) as caught:
        parse_identifier(text)
    message = caught.value.user_message
    assert len(message) < 200
    assert EXAMPLE_IN_MESSAGE in message  # says what is accepted
    for start in range(len(text) - 80):
        assert text[start : start + 81] not in message  # never echoes much of the input


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("doi:", "no DOI after it"),
        ("10.1234", "incomplete DOI"),
        ("arXiv:abc", "arXiv"),
        ("PMID: 12a", "PMID"),
        ("PMC12a", "PMCID"),
        ("https://example.com/paper", "link"),
        ("CRISPR", "too short"),
        ("   ", "empty"),
        ("x" * 501, "500"),
    ],
)
def test_message_says_what_is_wrong(text, fragment):
    with pytest.raises(InvalidIdentifier, match=fragment):
        parse_identifier(text)


@pytest.mark.parametrize(
    "text",
    [
        SEED,
        "10.1890/0012-9658(2006)87[2832:tiopma]2.0.co;2",
        "10.1111/(issn)1442-9993",
        "10.1175//2572.1",
        "10.48550/arXiv.2004.15011",
        "arXiv:2004.15011v3",
        "2312.07559",
        "hep-th/9711200v2",
        "math.GT/0309136",
        "PMID: 12345678",
        "PMC9933398",
        SEED_TITLE,
    ],
)
def test_str_round_trips(text):
    ident = parse_identifier(text)
    again = parse_identifier(str(ident))
    assert (again.kind, again.value, again.version) == (ident.kind, ident.value, ident.version)
    assert again.key == ident.key


def test_key_ignores_arxiv_version_and_doi_case():
    assert parse_identifier("arXiv:2004.15011v3").key == parse_identifier("2004.15011").key
    assert parse_identifier("10.7554/ELIFE.55167.SA2").key == "doi:10.7554/elife.55167.sa2"


def test_find_identifiers_in_a_paragraph():
    text = (
        "Zhou et al. (https://doi.org/10.1186/s12943-023-01737-7) build on the preprint "
        "arXiv:2004.15011v2 and on PMID: 12345678; nothing else here, not even 87654321."
    )
    assert [(i.kind, i.value, i.version) for i in find_identifiers(text)] == [
        (IdKind.DOI, SEED, None),
        (IdKind.ARXIV, "2004.15011", 2),
        (IdKind.PMID, "12345678", None),
    ]


def test_find_identifiers_keeps_order_and_drops_duplicates():
    text = (
        f"See {SEED.upper()}, also doi:{SEED}. The preprint arXiv 2004.15011 "
        "(10.48550/arXiv.2004.15011) is in PMC as PMC9933398 "
        "<https://www.ncbi.nlm.nih.gov/pmc/articles/PMC9933398/> and old hep-th/9711200v1."
    )
    found = find_identifiers(text)
    assert [i.key for i in found] == [
        f"doi:{SEED}",
        "arxiv:2004.15011",
        "pmcid:pmc9933398",
        "arxiv:hep-th/9711200",
    ]
    assert found[0].raw == SEED.upper()


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("", []),
        ("no identifiers, just 12345678 and 3.14159 and 2013.12345", []),
        (
            "pubmed.ncbi.nlm.nih.gov/87654321/ and PMCID: PMC1234",
            ["pmid:87654321", "pmcid:pmc1234"],
        ),
        (
            "a <https://onlinelibrary.wiley.com/doi/full/10.1002/ece3.2314> link",
            ["doi:10.1002/ece3.2314"],
        ),
        (
            "cite (10.1890/0012-9658(2006)87[2832:tiopma]2.0.co;2).",
            ["doi:10.1890/0012-9658(2006)87[2832:tiopma]2.0.co;2"],
        ),
        ("http://arxiv.org/pdf/2004.15011v2.pdf", ["arxiv:2004.15011"]),
    ],
)
def test_find_identifiers_cases(text, keys):
    assert [i.key for i in find_identifiers(text)] == keys


def test_identifier_model_is_what_parse_returns():
    assert parse_identifier(" arXiv:2004.15011v3 ") == Identifier(
        IdKind.ARXIV, "2004.15011", raw=" arXiv:2004.15011v3 ", version=3
    )


def test_module_is_pure():
    source = Path(bot.identifiers.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"discord", "httpx", "aiosqlite", "socket", "requests"}
