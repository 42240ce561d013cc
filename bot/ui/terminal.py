"""Work → a readable plain-text card for the terminal (``litbot paper``)."""

from __future__ import annotations

import textwrap

from bot.ui.cards import (
    access_line,
    author_line,
    fetched_text,
    provenance_text,
    tldr_label,
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
    lines.append(_wrap(work.title))
    lines.append(_wrap(author_line(work.authors, limit=10)))
    venue = venue_line(work)
    if work.cited_by_count is not None:
        venue += f" · {work.cited_by_count:,} citations"
    if venue:
        lines.append(venue)
    if work.doi:
        lines.append(f"https://doi.org/{work.doi}")
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
    """``litbot neighbours``: one line a work, DOI links, most cited first for citing works."""
    from bot.neighbours import LABELS

    lines = [f"{LABELS.get(hood.kind, hood.kind)} of:", _wrap(work.title, "  "), ""]
    for number, item in enumerate(hood.items, 1):
        who = (item.first_author or "Anon.") + (" et al." if item.authors > 1 else "")
        year = f" ({item.year})" if item.year else ""
        cited = f" · {item.cited_by_count:,} citations" if item.cited_by_count else ""
        lines.append(
            textwrap.fill(
                f"{number:>2}. {who}{year}. {item.title}{cited}",
                WIDTH,
                subsequent_indent="    ",
            )
        )
        if item.doi:
            lines.append(f"    https://doi.org/{item.doi}")
    if not hood.items:
        lines.append("  (none listed by OpenAlex)")
    lines += [f"note: {n}" for n in hood.notes]
    total = f" of {hood.total:,}" if hood.total and hood.total > len(hood.items) else ""
    lines += ["", f"{len(hood.items)}{total} shown · via OpenAlex · fetched {hood.fetched_at[:16]}"]
    return "\n".join(lines)
