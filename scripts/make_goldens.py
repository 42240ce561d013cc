"""Build the citation golden files from recorded Crossref records and citeproc-js.

    .venv/bin/python scripts/make_goldens.py                       # items.json only
    .venv/bin/python scripts/make_goldens.py --node-modules /tmp/x/node_modules   # + goldens

The second form needs Node.js and citeproc-js installed outside the repo (``cd /tmp/x && npm
install citeproc``). It writes ``tests/golden/citations/items.json`` (the CSL-JSON inputs, one
bibliography), ``tests/golden/citations/<style>.json`` (item id → citeproc-js plain text) and
``<style>.html.json`` (item id → citeproc-js HTML: italics, small caps, flip-flop). The Works
are built exactly as the bot builds them: source parser → ``bot.merge.merge``; the crafted
records of ``tests/synthetic/crossref-citation-kinds.json`` too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.citations import to_csl  # noqa: E402
from bot.merge import merge  # noqa: E402
from bot.models import Work  # noqa: E402
from bot.sources import crossref, openalex  # noqa: E402
from bot.styles import registry, style_path  # noqa: E402

FIXTURES = REPO.parent / "shared" / "fixtures"
SYNTHETIC = REPO / "tests" / "synthetic"
GOLDEN = REPO / "tests" / "golden" / "citations"
SCRIPT = REPO / "scripts" / "citeproc_js_goldens.mjs"
FETCHED_AT = "2026-01-01T00:00:00+00:00"

# Recorded Crossref records (relative to shared/fixtures), chosen for variety: item id → file.
RECORDS = {
    # journal articles
    "elife-01567": "crossref/elife-01567.json",
    "plos-one-tpi": "crossref/plos-one-tpi-deficiency.json",
    "nature-mi-chemcrow": "crossref/nature-mi-2024-chemcrow.json",
    "esmo-open-13-authors": "crossref/bmj-esmoopen-2020.json",
    "mja-1943-all-caps": "crossref/mja-1943-archived.json",
    "urologe-german": "crossref/springer-urologe-german.json",
    "crelle-umlaut-venue": "crossref/degruyter-crelle-2013.json",
    "revue-med-interne-french": "crossref-corpus/10_1016_s0248_8663_03_80579_9.json",
    "jai-non-ascii-names": "crossref-corpus/10_1111_jai_12009.json",
    "fgene-non-ascii-names": "crossref/frontiers-fgene-2017.json",
    "acs-correction-alpha": "crossref-corpus/10_1021_acsearthspacechem_4c00298.json",
    "landscape-ecology-org-author": "crossref-corpus/10_2478_v10285_012_0032_1.json",
    "ele-single-author": "crossref-corpus/10_1111_ele_14024.json",
    "acta-cryst-apostrophe": "crossref-corpus/10_1107_s2059798321003740.json",
    "ming-studies-book-review": "crossref-corpus/10_1080_0147037x_2024_2403941.json",
    "mee-shiny-app": "crossref-corpus/10_1111_2041_210x_13501.json",
    # chapters, books, proceedings
    "springer-chapter": "crossref/springer-book-chapter-2015.json",
    "handbuch-chapter-german": "crossref-corpus/10_1007_978_3_658_17671_6_18_1.json",
    "igi-chapter-quoted-title": "crossref/igi-les2-affiliation.json",
    "tcltk-2012-canvas": "crossref-corpus/10_1016_b978_0_12_384717_1_00012_9.json",
    "tcltk-2012-text": "crossref-corpus/10_1016_b978_0_12_384717_1_00013_0.json",
    "cambridge-book": "crossref/cambridge-book.json",
    "acm-sigmod-2021": "crossref/acm-sigmod-2021.json",
    "acm-non-ascii-proceedings": "crossref/acm-2834800-2834802.json",
    "ieee-iccv-2007": "crossref/ieee-iccv-2007.json",
    # datasets, preprints, theses, reports, others
    "pdb-4hhb-dataset": "crossref/pdb-dataset-4hhb.json",
    "cran-sunburst-dataset": "crossref-corpus/10_32614_cran_package_sunburstshinywidget.json",
    "biorxiv-2020-preprint": "crossref/biorxiv-2020-12-01-406702.json",
    "biorxiv-2015-preprint": "crossref-corpus/10_1101_014852.json",
    "uq-dissertation": "crossref/uq-dissertation.json",
    "lsu-thesis": "crossref-corpus/10_31390_gradschool_theses_6125.json",
    "pci-report-org-author": "crossref-corpus/10_15554_pci_cta_17.json",
    "nber-report": "crossref-corpus/10_3386_w15077.json",
    "elife-peer-review": "crossref/elife-peer-review-sa2.json",
    "rogue-scholar-blog": "crossref/rogue-scholar-blog-post.json",
    # kinds of difference found by formatting real records against citeproc-js
    # (scripts/compare_citeproc_js.py): number ranges outside pages…
    "kluwer-issue-range": "crossref/kluwer-1999-a1007154515475.json",
    # …names: hyphenated and initialled given names, particles in given names, apostrophes
    "eng-hyphenated-given": "crossref-corpus/10_1016_j_eng_2020_04_009.json",
    "peerj-hyphenated-initial": "crossref-corpus/10_7717_peerj_3811.json",
    "peerj-jean-francois": "crossref-corpus/10_7717_peerj_5956.json",
    "acta-neurol-th-initial": "crossref-corpus/10_1111_j_1600_0404_1986_tb03253_x.json",
    "rosstomat-sh-initial": "crossref-corpus/10_17116_rosstomat20251801140.json",
    "oceaneng-nickname-given": "crossref-corpus/10_1016_j_oceaneng_2019_04_026.json",
    "ufsm-particle-in-given": "crossref-corpus/10_5902_2179460x35639.json",
    "ufsm-particles-in-given": "crossref-corpus/10_5902_2175497775344.json",
    "peerj-apostrophe-family": "crossref-corpus/10_7717_peerj_1246.json",
    # …titles: a closing stop before the style's own, apostrophes and quotes (en-GB), markup
    "emotion-title-stop": "crossref-corpus/10_1037_emo0000217.json",
    "peerj-apostrophe-title": "crossref-corpus/10_7717_peerj_14276.json",
    "peerj-single-quotes": "crossref-corpus/10_7717_peerj_638.json",
    "refilo-single-quotes": "crossref-corpus/10_5902_2448065761350.json",
    "mee-treebase-small-caps": "crossref-corpus/10_1111_j_2041_210x_2012_00247_x.json",
    "mee-rnexml-small-caps": "crossref-corpus/10_1111_2041_210x_12469.json",
    "peerj-italic-genus": "crossref-corpus/10_7717_peerj_6122.json",
    "bcsj-italic-prefix": "crossref-corpus/10_1246_bcsj_36_278.json",
    # …disambiguation: same first author and year, names added in the bibliography (Harvard),
    # subsequent-author-substitute after "et al." (MLA)
    "coastaleng-wang-2023": "crossref-corpus/10_1016_j_coastaleng_2023_104399.json",
    "peerj-wang-2023": "crossref-corpus/10_7717_peerj_15028.json",
    "eng-zhang-2018": "crossref-corpus/10_1016_j_eng_2018_07_007.json",
    "peerj-zhang-2018-italics": "crossref-corpus/10_7717_peerj_4188.json",
    "peerj-harrison-2014": "crossref-corpus/10_7717_peerj_616.json",
    "peerj-harrison-et-al": "crossref-corpus/10_7717_peerj_4794.json",
    # …and a DOI holding "..", which no punctuation merging may touch
    "ksdt-doi-periods": "crossref-corpus/10_21326_ksdt_2008_18_018.json",
}
# Crafted Crossref records (tests/synthetic/crossref-citation-kinds.json) for the kinds of
# difference reported on records litbot has not seen and no recorded record shows: page ranges that
# are not plain numbers, issue ranges, "Jae-sung", "André Luiz dos", "O' Donoghue", a title
# ending in "." inside quotes. Formatted through the same parser and merge as real records.
CRAFTED = SYNTHETIC / "crossref-citation-kinds.json"
# Styles with golden files: every item above plus the seed paper, as one bibliography each.
STYLES = (
    "apa",
    "nlm-citation-sequence",
    "chicago-author-date",
    "ieee",
    "harvard-cite-them-right",
    "nature",
    "modern-language-association",
    "american-medical-association",
)


def _frozen(work: Work) -> Work:
    """Fixed fetch time, so that nothing in the goldens depends on the clock."""
    data = work.to_dict()
    data["fetched_at"] = FETCHED_AT
    return Work.from_dict(data)


def seed_work() -> Work:
    """The seed paper as the bot builds it from the synthetic Crossref + OpenAlex records.

    OpenAlex's author list corrects the swapped given/family names of the Crossref deposit.
    """
    records = {
        "crossref": crossref.parse_work(_json(SYNTHETIC / "crossref-seed.json")),
        "openalex": openalex.parse_work(_json(SYNTHETIC / "openalex-seed.json")),
    }
    return _frozen(merge(records))


def record_work(relative: str) -> Work:
    """A recorded Crossref record → Work, the way PaperService builds it (Crossref alone)."""
    return _frozen(merge({"crossref": crossref.parse_work(_json(FIXTURES / relative))}))


def crafted_works() -> dict[str, Work]:
    """Item id → Work for the crafted Crossref records."""
    return {
        item_id: _frozen(merge({"crossref": crossref.parse_work({"message": message})}))
        for item_id, message in _json(CRAFTED).items()
    }


def build_works() -> dict[str, Work]:
    """Item id → Work: the seed paper first, then every record of ``RECORDS``, then the
    crafted records."""
    works = {"seed": seed_work()}
    works.update({item_id: record_work(path) for item_id, path in RECORDS.items()})
    works.update(crafted_works())
    return works


def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def citeproc_js(
    items: list[dict], style: str, node_modules: Path, output: str = "text"
) -> dict[str, str]:
    """Run citeproc-js on ``items`` as one bibliography; item id → entry (plain text, or the
    HTML inside its ``csl-entry`` div)."""
    from citeproc import LOCALES_PATH

    info = registry()[style]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(items, f, ensure_ascii=False)
    try:
        out = subprocess.run(
            ["node", str(SCRIPT), f.name, str(style_path(info)), LOCALES_PATH, output],
            env={**os.environ, "NODE_PATH": str(node_modules)},
            cwd=node_modules.parent,
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(f.name)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--node-modules", type=Path, help="a node_modules with citeproc")
    parser.add_argument("--style", action="append", help="only these styles")
    args = parser.parse_args()

    works = build_works()
    items = [to_csl(work, item_id=item_id) for item_id, work in works.items()]
    GOLDEN.mkdir(parents=True, exist_ok=True)
    (GOLDEN / "items.json").write_text(
        json.dumps(items, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(f"items.json: {len(items)} items")
    if not args.node_modules:
        return
    for style in args.style or STYLES:
        for output, name in (("text", f"{style}.json"), ("html", f"{style}.html.json")):
            golden = citeproc_js(items, style, args.node_modules.resolve(), output)
            (GOLDEN / name).write_text(
                json.dumps(golden, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
            print(f"{name}: {len(golden)} entries")


if __name__ == "__main__":
    main()
