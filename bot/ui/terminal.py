"""Work → a readable plain-text card for the terminal (``litbot paper``). Imports no discord:
the lines it shares with the Discord card come from ``bot.ui.fields``."""

from __future__ import annotations

import textwrap

from bot.text import plural
from bot.ui.fields import (
    access_line,
    author_line,
    fetched_text,
    identifier_links,
    provenance_text,
    published_as_line,
    tldr_label,
    update_lines,
    venue_line,
)

WIDTH = 88


def _wrap(text: str, indent: str = "") -> str:
    return "\n".join(
        textwrap.fill(p, WIDTH, initial_indent=indent, subsequent_indent=indent)
        for p in text.split("\n\n")
    )


def render_text(work) -> str:
    lines = []
    if work.retracted:
        notice = f" (notice: doi:{work.retraction_notice})" if work.retraction_notice else ""
        lines.append(f"!! RETRACTED{notice}")
    for words, notice_doi in update_lines(work):
        lines.append(f"!  {words}" + (f" (notice: doi:{notice_doi})" if notice_doi else ""))
    lines.append(_wrap(work.title))
    lines.append(_wrap(author_line(work.authors, limit=10)))
    venue = venue_line(work)
    if work.cited_by_count is not None:
        venue += f" · {work.cited_by_count:,} citations"
    if venue:
        lines.append(venue)
    if published := published_as_line(work):
        lines.append(_wrap(published))
    if work.doi:
        lines.append(f"https://doi.org/{work.doi}")
    for label, url in identifier_links(work):  # PMID, PMCID, arXiv id, each with its page
        category = (
            f" [{work.arxiv_category}]"
            if label.startswith("arXiv:") and work.arxiv_category
            else ""
        )
        lines.append(f"{label}{category}: {url}")
    lines.append("")
    lines.append(access_line(work))
    if work.access.url:
        lines.append(f"  open copy: {work.access.url}")
    elif work.access.read_at:
        lines.append(f"  read at source: {work.access.read_at}")
    if work.access.reason:
        lines.append(_wrap(work.access.reason, "  "))
    if work.tldr:
        lines += ["", f"{tldr_label(work)}:", _wrap(work.tldr, "  ")]
    if work.abstract:
        lines += ["", "Abstract:", _wrap(work.abstract, "  ")]
    for note in work.notes:
        lines.append(f"note: {note}")
    lines += ["", f"sources: {provenance_text(work)}", f"fetched: {fetched_text(work.fetched_at)}"]
    return "\n".join(lines)


def render_summary_text(work, key_sentences: list[str]) -> str:
    """``litbot summary``: the TL;DR with its origin, then the abstract's key sentences."""
    lines = [_wrap(work.title), _wrap(author_line(work.authors, limit=10))]
    if work.doi:
        lines.append(f"https://doi.org/{work.doi}")
    lines.append("")
    if work.tldr:
        lines += [f"{tldr_label(work)}:", _wrap(work.tldr, "  ")]
    elif work.abstract:
        lines.append("No TL;DR could be made from this abstract.")
    else:
        lines.append("No abstract is available from any source, so there is no TL;DR.")
    if key_sentences:
        lines += ["", "Key sentences of the abstract:"]
        lines += [
            textwrap.fill(s, WIDTH, initial_indent="  • ", subsequent_indent="    ")
            for s in key_sentences
        ]
    lines += ["", f"sources: {provenance_text(work)}", f"fetched: {fetched_text(work.fetched_at)}"]
    return "\n".join(lines)


def render_neighbourhood_text(work, hood) -> str:
    """``litbot neighbours``: one line a work, numbered in the whole list, DOI links; the count
    is the list's (``Showing 1–10 of 29 references``), with OpenAlex's own when it differs."""
    from bot.neighbours import LABELS, NOUNS

    lines = [f"{LABELS.get(hood.kind, hood.kind)} of:", _wrap(work.title, "  "), ""]
    for number, item in enumerate(hood.items, hood.start + 1):
        if not item.found:
            lines.append(f"{number:>2}. (OpenAlex lists {item.openalex_id} but has no record)")
            continue
        who = (item.first_author or "Anon.") + (" et al." if item.authors > 1 else "")
        year = f", {item.year}" if item.year else ""
        venue = f". {item.venue}" if item.venue else ""
        cited = f" · {plural(item.cited_by_count, 'citation')}" if item.cited_by_count else ""
        lines.append(
            textwrap.fill(
                f"{number:>2}. {who}{year}. {item.title}{venue}{cited}",
                WIDTH,
                subsequent_indent="    ",
            )
        )
        if item.doi:
            lines.append(f"    https://doi.org/{item.doi}")
    if not hood.items:
        lines.append(f"  (OpenAlex lists no {NOUNS.get(hood.kind, ('', hood.kind))[1]})")
    lines += [f"note: {n}" for n in hood.remarks()]
    footer = [hood.summary()]
    if hood.pages > 1:
        footer.append(f"page {hood.page + 1} of {hood.pages}")
    footer.append(f"via OpenAlex · fetched {hood.fetched_at[:16]}")
    lines += ["", " · ".join(footer)]
    return "\n".join(lines)
