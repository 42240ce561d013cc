"""What notices say about a work: retractions, corrections, expressions of concern, withdrawals,
and the preprint ↔ version-of-record relation, as each source records them.

Recorded bodies are used where they exist (../shared/fixtures): a correction (PNAS 2014 and PLOS
Biology 2007 ``updated-by``), a preprint and its published version (bioRxiv 2024 ``is-preprint-of``
→ Cell Genomics 2025, both recorded), a published article and its preprint (Engineering 2021
``has-preprint``). No recorded body of a retracted work, an expression of concern or an arXiv
withdrawal exists yet: those tests put the documented shapes into a recorded record and say so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.merge import merge
from bot.models import Update, Work
from bot.sources import arxiv, crossref, openalex
from bot.ui.cards import render_card
from bot.ui.terminal import render_text

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def crossref_message(name: str) -> dict:
    folder = "crossref-corpus" if name.startswith("10_") else "crossref"
    return json.loads((FIXTURES / folder / f"{name}.json").read_text())


def test_a_recorded_correction_is_an_update_with_its_notice_date_and_source():
    record = crossref.parse_work(crossref_message("pnas-2014-1414271111"))
    assert record.updates == (
        Update("correction", "10.1073/pnas.1507001112", "2015-05-04", "crossref", "Correction"),
    )
    assert not record.retracted
    work = merge({"crossref": record})
    assert work.updates == record.updates and not work.retracted
    assert work.provenance["updates"] == "crossref"
    card = render_card(work).description
    assert (
        "📝 **Correction 2015-05-04 (via Crossref)**. Notice: https://doi.org/10.1073/pnas.1507001112"
        in card
    )
    assert "(notice: doi:10.1073/pnas.1507001112)" in render_text(work)


def test_a_new_version_pointing_at_the_record_itself_is_no_notice():
    # PLOS deposits "new_version" updates whose DOI is the record's own (recorded)
    for name in ("plos-ppat-2019", "10_1371_journal_pgen_1011490"):
        assert crossref.parse_work(crossref_message(name)).updates == ()


def test_a_retraction_from_the_publisher_and_retraction_watch_is_one_event_per_notice():
    # No recorded retracted record: apis.md §2.4 gives the ``updated-by`` entries third parties
    # report for 10.1016/S0140-6736(97)11096-0; they are put into a recorded PLOS record.
    body = crossref_message("10_1371_journal_pbio_0050002")
    body["message"]["updated-by"] = [
        *body["message"]["updated-by"],
        {
            "DOI": "10.1016/s0140-6736(10)60175-4",
            "type": "retraction",
            "label": "Retraction",
            "source": "retraction-watch",
            "updated": {"date-parts": [[2010, 2, 6]]},
        },
        {
            "DOI": "10.1016/S0140-6736(10)60175-4",
            "type": "retraction",
            "label": "Retraction",
            "source": "publisher",
            "updated": {"date-parts": [[2010, 2, 6]]},
        },
    ]
    record = crossref.parse_work(body)
    kinds = [(u.kind, u.date) for u in record.updates]
    assert kinds == [("correction", "2008-11-25"), ("retraction", "2010-02-06")]
    assert record.retracted and record.retraction_notice == "10.1016/s0140-6736(10)60175-4"
    work = merge({"crossref": record})
    assert work.retracted and work.updates[-1].source == "retraction-watch"
    card = render_card(work).description
    assert card.startswith("⚠️ **This work has been retracted**")
    assert "📝 **Correction 2008-11-25" in card  # the correction is still shown


def test_an_expression_of_concern_warns_without_calling_the_work_retracted():
    # Documented type (apis.md §2.4: update-to types include expression_of_concern); no
    # recorded record carries one yet, so it is put into the recorded PNAS record.
    body = crossref_message("pnas-2014-1414271111")
    body["message"]["updated-by"] = [
        {
            "DOI": "10.1073/pnas.2400000121",
            "type": "expression_of_concern",
            "label": "Expression of Concern",
            "source": "publisher",
            "updated": {"date-parts": [[2024, 3, 1]]},
        }
    ]
    work = merge({"crossref": crossref.parse_work(body)})
    assert [u.kind for u in work.updates] == ["expression_of_concern"] and not work.retracted
    assert "⚠️ **Expression of concern 2024-03-01 (via Crossref)**" in render_card(work).description


def test_openalex_retracted_flag_adds_nothing_beside_crossrefs_notice():
    # OpenAlex's is_retracted (apis.md §1.5; no recorded true value): the recorded record, set.
    data = json.loads((FIXTURES / "openalex/plos-one-tpi-deficiency.json").read_text())
    data["is_retracted"] = True
    flagged = openalex.parse_work(data)
    assert flagged.retracted and flagged.updates == (Update("retraction", source="openalex"),)
    alone = merge({"openalex": flagged})
    assert alone.retracted and alone.provenance["retracted"] == "openalex"
    body = crossref_message("plos-one-tpi-deficiency")
    body["message"]["updated-by"] = [
        {"DOI": "10.1371/journal.pone.9999999", "type": "retraction", "source": "publisher",
         "updated": {"date-parts": [[2024, 1, 2]]}}
    ]  # fmt: skip
    both = merge({"crossref": crossref.parse_work(body), "openalex": flagged})
    assert [(u.kind, u.notice) for u in both.updates] == [
        ("retraction", "10.1371/journal.pone.9999999")
    ]
    assert both.retraction_notice == "10.1371/journal.pone.9999999"


def test_an_arxiv_withdrawal_comment_is_a_withdrawal():
    # arXiv's help on withdrawals: the last version's comment says it; no withdrawn entry is
    # recorded, so a recorded entry's comment is replaced.
    feed = (FIXTURES / "arxiv/rsxiv-query.xml").read_text()
    first = re.search(r"<arxiv:comment>[^<]*</arxiv:comment>", feed)
    assert first
    withdrawn = feed.replace(
        first.group(0),
        "<arxiv:comment>This paper has been withdrawn by the author due to a crucial error in "
        "equation 3</arxiv:comment>",
        1,
    )
    records = arxiv.parse_feed(withdrawn.encode())
    assert records[0].updates and records[0].updates[0].kind == "withdrawal"
    assert records[0].updates[0].date == records[0].updated
    assert all(not r.updates for r in records[1:])
    work = merge({"arxiv": records[0]})
    assert work.retracted  # a withdrawn preprint should not be cited either
    assert not any(r.updates for r in arxiv.parse_feed(feed.encode()))


def test_a_preprint_knows_its_published_version_and_the_article_its_preprint():
    preprint = merge(
        {"crossref": crossref.parse_work(crossref_message("biorxiv-2024-04-01-587366"))}
    )
    assert preprint.published_doi == "10.1016/j.xgen.2025.100814"
    assert preprint.provenance["published_doi"] == "crossref"
    published = crossref.parse_work(crossref_message("cell-genomics-2025"))
    assert published.doi.lower() == "10.1016/j.xgen.2025.100814"
    article = merge(
        {"crossref": crossref.parse_work(crossref_message("10_1016_j_eng_2021_03_017"))}
    )
    assert article.preprints == ("10.1101/2020.06.17.20133843",)


def test_updates_survive_the_cache_format():
    work = merge({"crossref": crossref.parse_work(crossref_message("pnas-2014-1414271111"))})
    again = Work.from_dict(json.loads(json.dumps(work.to_dict())))
    assert again.updates == work.updates and again.preprints == work.preprints
