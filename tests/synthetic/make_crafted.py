"""Writes the crafted (hostile) record: ``python -m tests.synthetic.make_crafted``.

Each file is a real recording from ``../shared/fixtures`` (its whole JSON shape, every key kept)
with the values litbot reads replaced by hostile text: mentions, Markdown, masked links and URLs
with ``)`` and spaces inside. The e2e test ``tests/e2e/test_hostile_record.py`` serves them and
checks that every reply stays inert. The outputs are committed; re-run this after changing it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from tests.conftest import FIXTURES

HERE = Path(__file__).parent
DOI = "10.5555/crafted_(1)x"  # parentheses and an underscore, as real DOIs have
OPENALEX_ID = "https://openalex.org/W0000000666"
ROLE, USER, CHANNEL = "<@&222222222222222222>", "<@111111111111111111>", "<#333333333333333333>"
PHISH = "[Verify your account](https://evil.example/phish)"
# One line of everything Discord would render live.
HOSTILE = (
    f"@everyone @here {USER} {ROLE} {CHANNEL} </bib add:444444444444444444> {PHISH} "
    "<https://evil.example/auto> https://evil.example/bare\\<@&555555555555555555> "
    "**canary-bold** __canary-under__ ~~canary-strike~~ ||canary-spoiler|| `canary-code`"
)
# Constructs that only count at the start of a line (abstract paragraphs keep line breaks).
LINE_STARTS = (
    "# canary-heading",
    "-# canary-subtext",
    "> canary-quote",
    "- canary-list",
    "1. canary-numbered",
)
# URL fields: a planted masked link after a ")" and a space; ")" and mentions inside a URL.
PLANTED_URL = "https://repo.example/x.pdf) [Verify your account](https://evil.example/phish"
PAREN_URL = "https://repo.example/files/crafted(1).pdf?v=<@&222222222222222222>)"
NOTICE_DOI = "10.5555/notice) [Verify your account](https://evil.example/phish"
TITLE = f"Crafted {HOSTILE}"


def _load(path: str) -> dict:
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


def crossref() -> dict:
    data = _load("crossref/elife-01567.json")  # a real Crossref work envelope
    m = data["message"]
    m["DOI"] = DOI
    m["URL"] = f"https://doi.org/{DOI}"
    m["title"] = [TITLE]
    m["original-title"] = [TITLE]
    m["subtitle"] = []
    m["short-title"] = []
    m["container-title"] = [f"Journal of {ROLE} [x](https://evil.example/venue) *canary-venue*"]
    m["short-container-title"] = m["container-title"]
    m["publisher"] = f"Publisher {USER} @everyone"
    author = m["author"][0]
    m["author"] = [
        {**copy.deepcopy(author), "given": PHISH, "family": f"{ROLE} @everyone"},
        {**copy.deepcopy(author), "given": "# canary-given", "family": "`canary-family`"},
    ]
    m["abstract"] = "".join(f"<jats:p>{line}</jats:p>" for line in (*LINE_STARTS, HOSTILE))
    m["resource"] = {"primary": {"URL": PLANTED_URL}}
    for item in m["link"]:
        item["URL"] = PLANTED_URL
    for item in m["license"]:
        item["URL"] = "https://creativecommons.org/licenses/by/4.0/) [x](https://evil.example/l)"
    # a retraction, shaped as plos-ppat-2019's "updated-by" entry
    update = copy.deepcopy(_load("crossref/plos-ppat-2019.json")["message"]["updated-by"][0])
    update.update(DOI=NOTICE_DOI, type="retraction", label="Retraction")
    m["updated-by"] = [update]
    m["volume"], m["article-number"] = "<@&222222222222222222>", "e01567) [p](https://evil.example)"
    m.pop("relation", None)
    m.pop("reference", None)
    return data


def openalex() -> dict:
    data = _load("openalex/plos-one-tpi-deficiency.json")  # a real OpenAlex work (2026 schema)
    data["id"] = OPENALEX_ID
    data["doi"] = f"https://doi.org/{DOI}"
    data["ids"] = {"openalex": OPENALEX_ID, "doi": f"https://doi.org/{DOI}"}
    data["title"] = data["display_name"] = TITLE
    authorship = data["authorships"][0]
    authorship["author"]["display_name"] = f"{PHISH} {ROLE}"
    authorship["author"]["orcid"] = (
        "https://orcid.org/0000-0002-1825-0097) [x](https://evil.example)"
    )
    authorship["raw_author_name"] = f"{PHISH} {ROLE}"
    data["authorships"] = [authorship]
    for location in (data["primary_location"], *data["locations"]):
        location["landing_page_url"] = PLANTED_URL
        location["pdf_url"] = PAREN_URL
        if location.get("source"):
            location["source"]["display_name"] = f"Source {ROLE} [x](https://evil.example/s)"
            location["source"]["host_organization_name"] = f"Host {USER}"
    data["best_oa_location"] = copy.deepcopy(data["locations"][0])
    words = f"{TITLE} abstract words".split()
    data["abstract_inverted_index"] = {w: [i] for i, w in enumerate(dict.fromkeys(words))}
    data["is_retracted"] = True
    data["referenced_works"] = [OPENALEX_ID]  # its own neighbourhood: a hostile neighbour
    data["related_works"] = [OPENALEX_ID]
    data["referenced_works_count"] = 1
    return data


def unpaywall() -> dict:
    data = _load("unpaywall/cell-genomics-2025.json")  # a real Unpaywall record
    data["doi"] = DOI
    data["doi_url"] = f"https://doi.org/{DOI}"
    data["title"] = TITLE
    data["journal_name"] = f"Journal {ROLE}"
    data["publisher"] = f"Publisher {USER}"
    data["oa_status"] = f"gold {ROLE}"
    for location in [data["best_oa_location"], data["first_oa_location"], *data["oa_locations"]]:
        location["url"] = PAREN_URL
        location["url_for_pdf"] = PAREN_URL
        location["url_for_landing_page"] = PLANTED_URL
        location["repository_institution"] = f"Repo {ROLE} [x](https://evil.example/r)"
    for person in data.get("z_authors") or ():
        person["raw_author_name"] = f"{PHISH} {ROLE}"
    return data


FILES = {"crossref": crossref, "openalex": openalex, "unpaywall": unpaywall}


def main() -> None:
    for source, build in FILES.items():
        path = HERE / f"{source}-crafted.json"
        path.write_text(json.dumps(build(), ensure_ascii=False) + "\n", encoding="utf-8")
        print(path)


if __name__ == "__main__":
    main()
