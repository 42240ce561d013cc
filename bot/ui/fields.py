"""The lines a paper card and the terminal card share: plain text, no Discord.

``bot.ui.cards`` escapes them into embeds; ``bot.ui.terminal`` prints them. Kept apart so the
terminal (``litbot paper``) imports no discord.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from bot.licences import licence_label
from bot.markdown import doi_url, escape, link
from bot.merge import SOURCE_LABELS
from bot.models import WORK_TYPES, Author, Work
from bot.placeholders import without_placeholders
from bot.text import truncate

AUTHORS_SHOWN = 6  # more than this: the first five, "…", the last, and "et al."

STATUS_WORDS = {
    "gold": "Open access (gold)",
    "diamond": "Open access (diamond)",
    "hybrid": "Open access (hybrid)",
    "bronze": "Free to read (bronze)",
    "green": "Open copy in a repository (green)",
    "closed": "Citation only",
}


def author_line(authors: tuple[Author, ...], limit: int = AUTHORS_SHOWN) -> str:
    """ "Yongqiang Zhou, Cheng Lu, Lu Liu, Xun Li"; long lists keep first authors and the last."""
    names = [a.name for a in authors]
    if not names:
        return "No authors listed"
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[: limit - 1])}, … {names[-1]} et al. ({len(names)} authors)"


def venue_line(work: Work) -> str:
    """ "Journal 12(3): 46-51 · 2015 · Journal article"; an issue without a volume is "no. 18"."""
    work = without_placeholders(work)  # a stored "null" volume is no volume
    parts = []
    if work.venue:
        venue = work.venue
        if work.volume:
            venue += f" {work.volume}"
            if work.issue:
                venue += f"({work.issue})"
        elif work.issue:
            venue += f", no. {work.issue}"
        if work.pages:
            venue += f": {work.pages}"
        parts.append(venue)
    if work.year:
        parts.append(str(work.year))
    if work.type:
        parts.append(WORK_TYPES.get(work.type, work.type))
    return " · ".join(parts)


PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{}/"
PMC_URL = "https://pmc.ncbi.nlm.nih.gov/articles/{}/"
ARXIV_URL = "https://arxiv.org/abs/{}"


def identifier_links(work: Work) -> list[tuple[str, str]]:
    """(label, address) of the PubMed, PMC and arXiv pages of ``work``, for the card (through
    the URL policy) and the terminal."""
    out = []
    if work.pmid:
        out.append((f"PMID {work.pmid}", PUBMED_URL.format(quote(work.pmid, safe=""))))
    if work.pmcid:
        out.append((work.pmcid, PMC_URL.format(quote(work.pmcid, safe=""))))
    if work.arxiv:
        version = f"v{work.arxiv_version}" if work.arxiv_version else ""
        label = f"arXiv:{work.arxiv}{version}"
        out.append((label, ARXIV_URL.format(quote(work.arxiv, safe="/") + version)))
    return out


def published_as_line(work: Work, *, markdown: bool = False) -> str | None:
    """A preprint's published version, "Published as doi:10.1103/… (Phys. Rev. D 103 (2021))",
    or its journal reference alone; plain text, or Discord Markdown with the DOI linked through
    the URL policy and the rest escaped."""
    ref = truncate(work.journal_ref, 200) if work.journal_ref else None
    if ref and markdown:
        ref = escape(ref)
    if work.published_doi:
        label = f"doi:{work.published_doi}"
        if markdown:
            label = link(label, doi_url(work.published_doi)) or escape(label)
        return f"Published as {label}" + (f" ({ref})" if ref else "")
    return f"Journal reference: {ref}" if ref else None


def source_name(source: str | None) -> str:
    return SOURCE_LABELS.get(source or "", source or "unknown source")


MAX_UPDATE_LINES = 3


def update_lines(work: Work) -> list[tuple[str, str | None]]:
    """The notices about ``work`` other than its retraction (which has its own warning):
    corrections, errata, expressions of concern — newest first, at most
    ``MAX_UPDATE_LINES``, each as (plain words, the notice's DOI or ``None``)."""
    lines = []
    for update in reversed(work.updates):
        if update.retracting:
            continue
        when = f" {update.date}" if update.date else ""
        lines.append((f"{update.words}{when} (via {source_name(update.source)})", update.notice))
    return lines[:MAX_UPDATE_LINES]


def access_line(work: Work) -> str:
    """The licence line: status, licence, version and where it came from."""
    access = work.access
    words = STATUS_WORDS.get(access.status, access.status)
    if access.url:
        label = licence_label(access.licence)
        version = f" · {access.version} version" if access.version else ""
        via = f" · via {source_name(access.source)}" if access.source else ""
        return f"{words} · {label}{version}{via}"
    return "Citation only: the full text is not openly licensed."


def fetched_text(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def provenance_text(work: Work) -> str:
    """ "Title, authors, venue: Crossref · citations: OpenAlex · …" grouped by source."""
    shown = {
        "title": "title",
        "authors": "authors",
        "venue": "venue",
        "year": "year",
        "cited_by_count": "citations",
        "abstract": "abstract",
        "tldr": "TL;DR",
        "access": "access",
        "retracted": "retraction",
    }
    by_source: dict[str, list[str]] = {}
    for field, label in shown.items():
        if source := work.provenance.get(field):
            by_source.setdefault(source_name(source), []).append(label)
    return " · ".join(f"{', '.join(fields)}: {src}" for src, fields in by_source.items())


def tldr_label(work: Work) -> str:
    if work.provenance.get("tldr") == "s2":
        return "TL;DR via Semantic Scholar"
    return "TL;DR (generated locally from the abstract)"
