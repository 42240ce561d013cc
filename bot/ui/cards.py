"""Work → Discord embed (the paper card). No I/O, no business rules: it only displays.

Every string from upstream goes through ``bot.markdown.escape`` and every link through its URL
policy (``safe_url``, ``doi_url``, ``link``); the embed is built within Discord's limits (title
256, description 4096, field 1024, footer 2048, total 6000).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import discord

from bot.licences import licence_label
from bot.markdown import doi_address, doi_url, escape, link, safe_url, url_text
from bot.merge import SOURCE_LABELS
from bot.models import WORK_TYPES, Author, Work
from bot.placeholders import without_placeholders
from bot.text import plural, truncate

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
FOOTER_LIMIT = 2048
TOTAL_LIMIT = 6000
AUTHORS_SHOWN = 6  # more than this: the first five, "…", the last, and "et al."
ABSTRACT_SHOWN = 1200  # the card shows the opening; the full abstract is one click away

STATUS_WORDS = {
    "gold": "Open access (gold)",
    "diamond": "Open access (diamond)",
    "hybrid": "Open access (hybrid)",
    "bronze": "Free to read (bronze)",
    "green": "Open copy in a repository (green)",
    "closed": "Citation only",
}
COLOURS = {"retracted": 0xD83C3E, "open": 0x2E8B57, "free": 0xC78C2C, "closed": 0x5865F2}


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


def retraction_warning(work: Work) -> str | None:
    """The line shown above a citation of a retracted work (as Zotero warns before citing one),
    with the retraction notice linked when it is known; ``None`` for other works."""
    if not work.retracted:
        return None
    via = source_name(work.provenance.get("retracted"))
    notice = work.retraction_notice
    line = f"⚠️ **This work has been retracted** (via {via}): check before citing it."
    linked = link("Retraction notice", doi_address(notice)) if notice else None
    return f"{line} {linked}" if linked else line


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


def work_embed(
    work: Work, title: str | None = None, colour: int = COLOURS["closed"]
) -> discord.Embed:
    """An embed about ``work``: its escaped title (or ``title``), linked to its DOI."""
    return discord.Embed(
        title=title if title is not None else work.rich("title").markdown(TITLE_LIMIT),
        url=doi_url(work.doi),
        colour=colour,
    )


def render_card(work: Work) -> discord.Embed:
    """The paper card. Always within Discord's limits, whatever the record holds."""
    colour = (
        COLOURS["retracted"]
        if work.retracted
        else COLOURS["open"]
        if work.access.url and work.access.licence
        else COLOURS["free"]
        if work.access.url
        else COLOURS["closed"]
    )
    embed = work_embed(work, colour=colour)
    work = without_placeholders(work)

    head: list[str] = []
    if work.retracted:
        address = url_text(doi_address(work.retraction_notice)) if work.retraction_notice else None
        notice = f" Notice: {address}" if address else ""
        via = source_name(work.provenance.get("retracted"))
        head.append(f"⚠️ **This work has been retracted** (via {via}).{notice}")
    head.append(escape(author_line(work.authors)))
    line = escape(venue_line(work))
    # None is "not counted" (DataCite's 0, a source that failed): the card says nothing then.
    if work.cited_by_count is not None:
        src = source_name(work.provenance.get("cited_by_count"))
        line = (
            f"{line} · {work.cited_by_count:,} citations ({src})"
            if line
            else (f"{work.cited_by_count:,} citations ({src})")
        )
    if line:
        head.append(line)
    if published := published_as_line(work, markdown=True):
        head.append(published)
    if work.tldr:
        head.append(f"**{tldr_label(work)}:** {escape(truncate(work.tldr, 400))}")
    header = "\n".join(head)

    if work.abstract:
        room = DESCRIPTION_LIMIT - len(header) - 64
        label = f"**Abstract** ({source_name(work.provenance.get('abstract'))})"
        body = work.rich("abstract").markdown(min(ABSTRACT_SHOWN, max(room, 0)))
        description = f"{header}\n\n{label}\n{body}" if room > 100 else header
    else:
        description = f"{header}\n\n*No abstract available from any source.*"
    embed.description = truncate(description, DESCRIPTION_LIMIT)

    access = work.access
    value = escape(access_line(work))
    # a URL that fails the policy is not linked: the next one is tried, or none is shown
    if read := link("Read the open copy", access.url) or link("Read at source →", access.read_at):
        value += f"\n{read}"
    if access.reason:
        value += f"\n{escape(access.reason)}"
    embed.add_field(name="Access", value=truncate(value, FIELD_LIMIT), inline=False)

    ids = []
    if work.doi:
        ids.append(f"DOI {escape(work.doi)}")
    for label, url in identifier_links(work):  # PubMed, PMC, arXiv: linked when the URL passes
        ids.append(link(label, url) or escape(label))
    if work.arxiv and work.arxiv_category:
        ids[-1] += " " + escape(f"[{work.arxiv_category}]")  # arXiv's form: arXiv:id [cs.DL]
    if ids:
        embed.add_field(
            name="Identifiers", value=truncate(" · ".join(ids), FIELD_LIMIT), inline=False
        )

    if work.notes or work.missing:
        notes = "\n".join(f"• {escape(n)}" for n in work.notes)
        embed.add_field(
            name="Note", value=truncate(notes or "Some sources failed.", FIELD_LIMIT), inline=False
        )

    footer = f"Sources: {provenance_text(work)} · fetched {fetched_text(work.fetched_at)}"
    if work.stale:
        footer += " (cached copy)"
    embed.set_footer(text=truncate(footer, FOOTER_LIMIT))

    # Whatever is left over the 6000 total comes off the description.
    excess = len(embed) - TOTAL_LIMIT
    if excess > 0:
        embed.description = truncate(
            embed.description or "", max(0, len(embed.description or "") - excess - 1)
        )
    return embed


def card_links(work: Work) -> list[tuple[str, str]]:
    """(label, url) pairs for link buttons: the open copy or the source, and the DOI."""
    links: list[tuple[str, str]] = []
    if copy := safe_url(work.access.url):
        version = f" ({work.access.version})" if work.access.version else ""
        links.append((f"Open copy{version}"[:80], copy))  # button labels are plain text
    if publisher := doi_url(work.doi):
        label = "Read at source" if not copy else "Publisher page"
        links.append((label, publisher))
    return links


def render_summary(work: Work, key_sentences: list[str]) -> discord.Embed:
    """``/summary``: the TL;DR (labelled with its origin) and the abstract's key sentences."""
    embed = work_embed(work)
    parts = [escape(author_line(work.authors))]
    if work.tldr:
        parts.append(f"**{tldr_label(work)}:** {escape(truncate(work.tldr, 600))}")
    elif work.abstract:
        parts.append("*No TL;DR could be made from this abstract.*")
    else:
        parts.append("*No abstract is available from any source, so there is no TL;DR.*")
    if key_sentences:
        source = source_name(work.provenance.get("abstract"))
        bullets = "\n".join(f"• {escape(truncate(s, 700))}" for s in key_sentences)
        parts.append(f"**Key sentences of the abstract** ({source})\n{bullets}")
    embed.description = truncate("\n\n".join(p for p in parts if p), DESCRIPTION_LIMIT)
    embed.set_footer(
        text=truncate(
            f"Sources: {provenance_text(work)} · fetched {fetched_text(work.fetched_at)}",
            FOOTER_LIMIT,
        )
    )
    return embed


def render_abstract(work: Work) -> discord.Embed:
    """The full abstract, for the summary's button (as much as an embed holds)."""
    source = source_name(work.provenance.get("abstract"))
    embed = discord.Embed(title=work.rich("title").markdown(TITLE_LIMIT), colour=COLOURS["closed"])
    body = work.rich("abstract").markdown() if work.abstract else "*No abstract available.*"
    footer = f"Abstract via {source}"
    if len(body) > DESCRIPTION_LIMIT:
        footer += " · shortened to fit; the full text is at the source"
        body = work.rich("abstract").markdown(DESCRIPTION_LIMIT)
    embed.description = body
    embed.set_footer(text=footer)
    return embed


def short_citation(work: Work) -> str:
    """``Zhou et al. (2023) · NK cells are never alone…`` for list lines (escaped)."""
    if not work.authors:
        who = "Anon."
    else:
        first = work.authors[0]
        who = first.family or first.name
        if len(work.authors) == 2:
            second = work.authors[1]
            who += f" & {second.family or second.name}"
        elif len(work.authors) > 2:
            who += " et al."
    year = f" ({work.year})" if work.year else ""
    return f"{escape(who)}{year} · *{escape(truncate(work.title, 90))}*"


def render_page(page) -> discord.Embed:
    """One page of a bibliography (``bot.bibliographies.Page``): ten short citations."""
    bib = page.bibliography
    title = f"📚 {bib.name}"
    if page.tag:
        title += f" · #{page.tag}"
    embed = discord.Embed(title=truncate(escape(title), TITLE_LIMIT), colour=COLOURS["closed"])
    if not page.entries:
        embed.description = (
            "*No entries with that tag.*" if page.tag else "*Empty. Add papers with `/bib add`.*"
        )
    else:
        lines = []
        for number, entry in enumerate(page.entries, page.page * 10 + 1):
            doi = link("doi", doi_url(entry.work.doi))
            doi = f" · {doi}" if doi else ""
            tags = f" `{' '.join('#' + t for t in entry.tags)}`" if entry.tags else ""
            lines.append(f"**{number}.** {short_citation(entry.work)}{doi}{tags}")
        embed.description = truncate("\n".join(lines), DESCRIPTION_LIMIT)
    sort = {"added": "newest first", "author": "by author", "year": "by year", "title": "by title"}
    embed.set_footer(
        text=f"Page {page.page + 1} of {page.pages} · {plural(page.total, 'entry', 'entries')} · "
        f"{sort.get(page.sort, page.sort)}"
    )
    return embed


def render_entry(entry, bibliography_name: str) -> discord.Embed:
    """One bibliography entry with its note, tags and who added it."""
    work = entry.work
    embed = work_embed(work)
    lines = [escape(author_line(work.authors))]
    if venue := venue_line(work):
        lines.append(escape(venue))
    embed.description = truncate("\n".join(lines), DESCRIPTION_LIMIT)
    if entry.note:
        embed.add_field(name="Note", value=truncate(escape(entry.note), FIELD_LIMIT), inline=False)
    if entry.tags:
        embed.add_field(
            name="Tags", value=truncate(" ".join(f"#{escape(t)}" for t in entry.tags), FIELD_LIMIT)
        )
    embed.add_field(name="Added", value=f"by <@{entry.added_by}> on {entry.added_at[:10]}")
    embed.set_footer(text=truncate(f"In “{bibliography_name}”", FOOTER_LIMIT))
    return embed


NEIGHBOUR_LINE = 340  # ten entries and the notes fit a description (4096) whatever they hold
NEIGHBOUR_NOTES = 600
NEIGHBOUR_LINK = 160  # a longer doi.org link would crowd out the entry: the DOI is shown as text


def _fit(raw: str | None, limit: int) -> str:
    """``raw`` escaped, cut so that the escaped text is at most ``limit`` characters."""
    text = escape(truncate(raw or "", limit))
    if len(text) > limit:  # escaping at most doubles a character (``\*``)
        text = escape(truncate(raw or "", limit // 2))
    return text


def neighbour_line(number: int, item) -> str:
    """``**11.** Geary et al., 2015 · *Title* · Venue · [doi](…) · 750 citations``: first
    author, year, title, venue, DOI link (escaped, linked through the URL policy), within
    ``NEIGHBOUR_LINE`` characters. An id OpenAlex returned no record for says so."""
    head = f"**{number:,}.** "
    if not item.found:
        ident = escape(item.openalex_id or "")
        target = link(ident, f"https://openalex.org/{item.openalex_id}") or ident
        return f"{head}*OpenAlex lists {target} but returned no record for it.*"
    who = _fit(item.first_author or "Anon.", 60) + (" et al." if item.authors > 1 else "")
    who += f", {item.year}" if item.year else ""
    url = doi_url(item.doi)
    doi = ""
    if url and len(url) <= NEIGHBOUR_LINK:
        doi = f" · [doi]({url})"
    elif item.doi:
        doi = f" · DOI {_fit(item.doi, 80)}"
    cited = f" · {plural(item.cited_by_count, 'citation')}" if item.cited_by_count else ""
    venue = f" · {_fit(item.venue, 80)}" if item.venue else ""
    room = NEIGHBOUR_LINE - len(head) - len(who) - len(doi) - len(cited) - len(venue) - 5
    title = _fit(item.title, max(20, min(room, 200)))
    line = f"{head}{who} · *{title}*{venue}{doi}{cited}"
    return line if len(line) <= NEIGHBOUR_LINE else f"{head}{who} · *{title}*{doi}"


def render_neighbourhood(work: Work, hood) -> discord.Embed:
    """One page of references / citing works / related works of ``work`` (``bot.neighbours``):
    ten entries numbered in the whole list, and a footer whose count is the list's
    (``Showing 11–20 of 29 references``). Notes say what OpenAlex counts when it differs."""
    from bot.neighbours import LABELS, NOUNS

    label = LABELS.get(hood.kind, hood.kind)
    embed = work_embed(work, truncate(f"{label}: {escape(work.title)}", TITLE_LIMIT))
    lines = [neighbour_line(n, item) for n, item in enumerate(hood.items, hood.start + 1)]
    if not lines:
        nouns = NOUNS.get(hood.kind, ("", hood.kind))[1]
        lines.append(f"*OpenAlex lists no {nouns} for this work.*")
    notes = "\n".join(escape(note) for note in hood.remarks())
    description = "\n".join(lines)
    if notes:
        description += "\n\n" + truncate(notes, NEIGHBOUR_NOTES)
    embed.description = truncate(description, DESCRIPTION_LIMIT)
    parts = [hood.summary()]
    if hood.pages > 1:
        parts.append(f"page {hood.page + 1} of {hood.pages}")
    parts.append("via OpenAlex")
    if hood.kind == "cited-by":
        parts.append("most cited first")
    parts.append(f"fetched {hood.fetched_at[:10]}")
    embed.set_footer(text=" · ".join(parts))
    return embed
