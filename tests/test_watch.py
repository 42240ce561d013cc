"""The living library without Discord: re-checks, notices seen once, alerts planned once per
destination and delivered grouped, upgrades of published preprints, and bad destinations.

The upstreams are the recorded ones (tests/upstream_mock.py). A retraction is reported by
serving the recorded Crossref record with the ``updated-by`` entries apis.md §2.4 documents
(no recorded body of a retracted work exists yet).
"""

from __future__ import annotations

import json

import pytest

from bot.alerting import Undeliverable, deliver
from bot.bibliographies import Actor
from bot.storage.watch import ALERT_CHANNEL, ALERT_DMS, Alert, WatchStore
from bot.ui.alerts import alert_message
from bot.watch import Watch
from tests.discord_limits import message_problems
from tests.upstream_mock import with_retraction
from tests.world import litbot, seeded

GUILD, CHANNEL, ALERTS = 111, 50, 60
ALICE, BOB = 1, 2
PLOS = "10.1371/journal.pone.0000030"  # recorded in Crossref and OpenAlex
PREPRINT = "10.1101/2024.04.01.587366"  # bioRxiv; Crossref says is-preprint-of …
PUBLISHED = "10.1016/j.xgen.2025.100814"  # … this Cell Genomics article (both recorded)


def retracted_body(fixtures_dir, notice: str = "10.1371/journal.pone.9999999") -> str:
    recorded = (fixtures_dir / "crossref/plos-one-tpi-deficiency.json").read_bytes()
    return with_retraction(recorded, notice, (2026, 11, 20))


class Recorder:
    """A ``Sender`` that keeps what it was asked to post; targets in ``refuse`` fail."""

    def __init__(self, refuse: dict[str, Undeliverable] | None = None) -> None:
        self.sent: list[tuple[str, list[Alert]]] = []
        self.admins: list[tuple[int, str]] = []
        self.refuse = refuse or {}

    async def send(self, target: str, alerts: list[Alert]) -> None:
        if target in self.refuse:
            raise self.refuse[target]
        self.sent.append((target, alerts))

    async def tell_admins(self, guild_id: int, text: str) -> bool:
        self.admins.append((guild_id, text))
        return True


@pytest.fixture
async def world(fixtures_dir, tmp_path):
    mock = seeded(fixtures_dir)
    async with litbot(tmp_path, mock) as bot:
        yield bot, mock


def alice(channel: int = CHANNEL) -> Actor:
    return Actor.in_guild(GUILD, ALICE, channel, can_manage=False)


async def test_a_retraction_is_alerted_once_in_the_channel_and_the_adders_dms(world, fixtures_dir):
    bot, mock = world
    await bot.bibs.add(alice(), PLOS)
    watch = Watch(WatchStore(bot.db), bot.papers)
    quiet = await watch.run_once()
    assert quiet.checked == 1 and quiet.alerts == 0  # nothing new

    mock.add("crossref", PLOS, retracted_body(fixtures_dir))
    report = await watch.run_once(force=True)
    assert report.alerts == 2 and report.changed == [PLOS]
    sender = Recorder()
    delivered = await deliver(watch.store, sender)
    assert delivered.sent == 2 and delivered.messages == 2
    assert sorted(t for t, _ in sender.sent) == [f"channel:{CHANNEL}", f"user:{ALICE}"]
    alert = sender.sent[0][1][0]
    assert alert.event.kind == "retraction" and alert.event.source == "retraction-watch"
    assert alert.event.notice == "10.1371/journal.pone.9999999"
    content, view = alert_message(sender.sent[0][1])
    assert "⚠️ **Retraction** 2026-11-20 (via Retraction Watch (via Crossref))" in content
    assert [b.url for b in view.children] == ["https://doi.org/10.1371/journal.pone.9999999"]

    # again, and after a restart (a new store and watch on the same database): nothing more
    assert (await watch.run_once(force=True)).alerts == 0
    restarted = Watch(WatchStore(bot.db), bot.papers)
    assert (await restarted.run_once(force=True)).alerts == 0
    assert (await deliver(restarted.store, Recorder())).sent == 0

    # the entry itself now says so: /bib list, /bib show and exports read it
    entry = await bot.bibs.show(alice(), PLOS)
    assert entry.work.retracted and entry.work.updates[0].kind == "retraction"


async def test_the_servers_alert_channel_and_a_members_opt_out_decide_where(world, fixtures_dir):
    bot, mock = world
    await bot.bibs.add(alice(), PLOS)
    await bot.bibs.add(Actor.in_guild(GUILD, BOB, CHANNEL, can_manage=False), PLOS)
    from bot.storage.preferences import Preferences

    prefs = Preferences(bot.db)
    await prefs.set("guild", GUILD, ALERT_CHANNEL, str(ALERTS), by=ALICE)
    await prefs.set("user", BOB, ALERT_DMS, "off", by=BOB)
    mock.add("crossref", PLOS, retracted_body(fixtures_dir))
    watch = Watch(WatchStore(bot.db), bot.papers)
    await watch.run_once(force=True)
    sender = Recorder()
    await deliver(watch.store, sender)
    # one message in the alert channel (not one per entry), Alice's DMs; Bob opted out
    assert sorted(t for t, _ in sender.sent) == [f"channel:{ALERTS}", f"user:{ALICE}"]


async def test_a_notice_known_when_the_work_was_saved_is_not_alerted(world):
    bot, _ = world
    await bot.bibs.add(alice(), "10.1073/pnas.1414271111")  # recorded with a correction
    watch = Watch(WatchStore(bot.db), bot.papers)
    assert (await watch.run_once(force=True)).alerts == 0


async def test_personal_bibliographies_alert_in_dms_and_many_news_are_one_message(
    world, fixtures_dir
):
    bot, mock = world
    me = Actor.in_dm(BOB)
    dois = [PLOS, "10.7554/elife.01567", "10.1016/j.addr.2015.01.008"]
    for doi in dois:
        await bot.bibs.add(me, doi)
    for i, doi in enumerate(dois):
        body = json.loads(retracted_body(fixtures_dir, f"10.9999/notice.{i}"))
        recorded = mock.files["crossref"][doi].read_text()
        record = json.loads(recorded)
        record["message"]["updated-by"] = body["message"]["updated-by"]
        mock.add("crossref", doi, json.dumps(record))
    watch = Watch(WatchStore(bot.db), bot.papers)
    await watch.run_once(force=True)
    sender = Recorder()
    await deliver(watch.store, sender)
    assert [(t, len(a)) for t, a in sender.sent] == [(f"user:{BOB}", 3)]
    content, view = alert_message(sender.sent[0][1])
    assert content.startswith("**Library alerts**: 3 saved works changed.")
    payload = {"content": content, "components": view.to_components()}
    assert message_problems({**payload, "allowed_mentions": {"parse": []}}) == []


async def test_a_published_preprint_offers_an_upgrade_that_keeps_note_tags_and_key(world):
    from bot.identifiers import parse_identifier

    bot, mock = world
    # Saved while a preprint: the recorded bioRxiv record without its is-preprint-of relation
    body = json.loads(mock.files["crossref"][PREPRINT].read_text())
    del body["message"]["relation"]
    mock.add("crossref", PREPRINT, json.dumps(body))
    await bot.bibs.add(alice(), PREPRINT, note="read for journal club", tags="genomics")
    before = await bot.bibs.show(alice(), PREPRINT)
    assert before.work.published_doi is None
    del mock.extra[("crossref", f"doi:{PREPRINT}")]  # then the journal version appears
    watch = Watch(WatchStore(bot.db), bot.papers)
    assert (await watch.run_once(force=True)).alerts == 2
    pending = await watch.store.pending()
    assert {(a.event.kind, a.event.notice) for a in pending} == {("published", PUBLISHED)}
    content, view = alert_message(pending[:1])
    assert "**Published version** of *" in content and "Upgrade" in content
    assert [c.custom_id for c in view.children] == [f"lit:upgrade:{pending[0].id}"]

    published = await bot.papers.lookup(parse_identifier(PUBLISHED), settled=True)
    outcome, name = await watch.store.upgrade(pending[0].entry_id, published)
    assert outcome == "upgraded" and name == "general"
    after = await bot.bibs.show(alice(), PUBLISHED)
    assert after.id == before.id and after.note == before.note and after.tags == before.tags
    assert after.cite_key == before.cite_key and after.work.doi.lower() == PUBLISHED
    with pytest.raises(Exception, match="not in"):
        await bot.bibs.show(alice(), PREPRINT)


async def test_a_deleted_channel_keeps_the_alerts_and_tells_the_admins(world, fixtures_dir):
    bot, mock = world
    await bot.bibs.add(alice(), PLOS)
    mock.add("crossref", PLOS, retracted_body(fixtures_dir))
    watch = Watch(WatchStore(bot.db), bot.papers)
    await watch.run_once(force=True)
    gone = Undeliverable("the channel no longer exists", gone=True)
    sender = Recorder(refuse={f"channel:{CHANNEL}": gone})
    delivered = await deliver(watch.store, sender)
    assert delivered.failed == 1 and delivered.sent == 1  # the DM still went
    assert sender.admins and "the channel no longer exists" in sender.admins[0][1]
    assert await watch.store.status(GUILD) == {"failed": 1, "sent": 1}
    moved = await watch.store.retarget_failed(GUILD, ALERTS)
    assert moved == 1
    again = Recorder()
    await deliver(watch.store, again)
    assert [t for t, _ in again.sent] == [f"channel:{ALERTS}"]


async def test_unknown_and_unreachable_works_do_not_stop_the_run(world, fixtures_dir):
    from tests.upstream_mock import Canned

    bot, mock = world
    await bot.bibs.add(alice(), PLOS)
    await bot.bibs.add(alice(), "10.7554/elife.01567")
    mock.remove("openalex")
    mock.add("crossref", "10.7554/elife.01567", b"Resource not found.", status=404)
    mock.fail("crossref", "ok")
    watch = Watch(WatchStore(bot.db), bot.papers)
    report = await watch.run_once(force=True)
    assert report.checked + report.failed == 2
    mock.fail("crossref", Canned(503, b"down", "text/plain"))
    mock.fail("openalex", Canned(503, b"down", "text/plain"))
    report = await watch.run_once(force=True)
    assert report.failed == 2 and report.alerts == 0


async def test_a_retracted_or_corrected_entry_is_marked_in_lists_entries_and_exports(
    world, fixtures_dir
):
    from bot.citations import to_csl_json
    from bot.exports import to_bibtex, to_ris
    from bot.ui.cards import render_entry, render_page

    bot, mock = world
    await bot.bibs.add(alice(), PLOS)
    await bot.bibs.add(alice(), "10.1073/pnas.1414271111")  # a recorded correction
    mock.add("crossref", PLOS, retracted_body(fixtures_dir))
    await Watch(WatchStore(bot.db), bot.papers).run_once(force=True)
    page = await bot.bibs.page(alice())
    listed = render_page(page).description
    assert "⚠️ **Retracted**" in listed and "📝 *Corrected*" in listed
    entry = await bot.bibs.show(alice(), PLOS)
    shown = render_entry(entry, "general").description
    assert shown.startswith("⚠️ **This work has been retracted**")
    note = "Retracted (notice doi:10.1371/journal.pone.9999999)."
    assert note in to_bibtex([entry.work]) and f"N1  - {note}" in to_ris([entry.work])
    assert json.loads(to_csl_json([entry.work]))[0]["note"] == note
    corrected = await bot.bibs.show(alice(), "10.1073/pnas.1414271111")
    assert "Correction 2015-05-04 (doi:10.1073/pnas.1507001112)." in to_bibtex([corrected.work])


# -- search (FTS5) ---------------------------------------------------------------------------


async def test_search_finds_words_in_title_authors_venue_notes_and_tags_best_first(world):
    bot, _ = world
    me = alice()
    await bot.bibs.add(me, "10.7554/elife.01567", note="vascular atlas for lab meeting")
    await bot.bibs.add(me, PLOS, tags="enzymes")
    await bot.bibs.add(me, "10.1016/j.addr.2015.01.008")
    search = bot.bibs.search
    _, found = await search(me, "hypocotyl")  # a title word
    assert [e.work_key for e in found] == ["10.7554/elife.01567"]
    _, found = await search(me, "sankar")  # an author
    assert [e.work_key for e in found] == ["10.7554/elife.01567"]
    _, found = await search(me, "meet")  # a note word's beginning
    assert [e.work_key for e in found] == ["10.7554/elife.01567"]
    _, found = await search(me, "enzym")  # a tag
    assert [e.work_key for e in found] == [PLOS]
    _, found = await search(me, "Advanced Drug Delivery")  # the venue, every word required
    assert [e.work_key for e in found] == ["10.1016/j.addr.2015.01.008"]
    _, found = await search(me, '"pharmaco* ( -:')  # FTS5 syntax is just text here
    assert [e.work_key for e in found] == ["10.1016/j.addr.2015.01.008"]
    assert (await search(me, "   "))[1] == []
    await bot.bibs.remove(me, PLOS)
    assert (await search(me, "enzymes"))[1] == []
    # another server's entries are never found
    other = Actor.in_guild(GUILD + 1, ALICE, CHANNEL, can_manage=False)
    await bot.bibs.add(other, "10.1073/pnas.1414271111")
    assert (await search(me, "musculoskeletal"))[1] == []
    choices = await bot.bibs.entry_choices(me, "hypoco")
    assert choices and choices[0][1] == "10.7554/elife.01567" and len(choices[0][0]) <= 100


async def test_an_import_is_re_checked_at_once_and_its_retraction_alerted(world, fixtures_dir):
    """``/bib import`` dispatches ``litbot_import``; the alerts cog re-checks the new entries
    then (not at its next tick) and delivers: an imported retracted paper is flagged in the
    channel it was imported in and to the member who imported it."""
    from cogs.alerts import AlertsCog

    bot, mock = world
    mock.add("crossref", PLOS, retracted_body(fixtures_dir))
    bib = f"@article{{tpi,\n  title = {{TPI deficiency}},\n  doi = {{{PLOS}}},\n}}\n"
    report = await bot.bibs.import_file(alice(), "lab.bib", bib.encode())
    assert len(report.added) == 1
    cog = AlertsCog(bot)
    cog.sender = Recorder()  # type: ignore[assignment]
    await cog.on_litbot_import(len(report.added))
    assert sorted(t for t, _ in cog.sender.sent) == [f"channel:{CHANNEL}", f"user:{ALICE}"]
    assert cog.sender.sent[0][1][0].event.kind == "retraction"
    await cog.on_litbot_import(len(report.added))  # once only
    assert len(cog.sender.sent) == 2
