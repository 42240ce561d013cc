from datetime import date

import pytest

from bot.licences import (
    best_location,
    choose_access,
    is_shadow_library,
    licence_label,
    normalise_licence,
)
from bot.models import LicenceStatement, Location, Version


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("cc-by", "cc-by"),
        ("cc-by-nc-nd", "cc-by-nc-nd"),
        ("CC BY-NC 4.0", "cc-by-nc"),
        ("http://creativecommons.org/licenses/by/4.0/", "cc-by"),
        ("https://creativecommons.org/licenses/by-nc-nd/4.0/", "cc-by-nc-nd"),
        ("http://creativecommons.org/licenses/by-sa/3.0/igo/", "cc-by-sa"),
        ("https://creativecommons.org/publicdomain/zero/1.0/", "cc0"),
        ("https://creativecommons.org/publicdomain/mark/1.0/", "public-domain"),
        ("CCBY", "cc-by"),  # Semantic Scholar
        ("CCBYNCND", "cc-by-nc-nd"),
        ("cc-by-4.0", "cc-by"),  # DataCite SPDX ids
        ("cc-by-nc-sa-4.0", "cc-by-nc-sa"),
        ("Creative Commons Attribution 4.0 International", "cc-by"),
        ("Creative Commons Attribution-NonCommercial-ShareAlike 4.0", "cc-by-nc-sa"),
        ("Some licence we do not know", None),
        ("cc0-1.0", "cc0"),
        ("public-domain", "public-domain"),
        ("other-oa", "other-oa"),
        ("publisher-specific-oa", "publisher-specific"),
        ("implied-oa", "publisher-specific"),
        ("elsevier-specific: oa user license", "publisher-specific"),
        ("http://www.elsevier.com/open-access/userlicense/1.0/", "publisher-specific"),
        # text-and-data-mining and terms pages are not reuse licences
        ("https://www.elsevier.com/tdm/userlicense/1.0/", None),
        ("http://www.springer.com/tdm", None),
        ("http://onlinelibrary.wiley.com/termsAndConditions#vor", None),
        ("https://www.cambridge.org/core/terms", None),
        (None, None),
        ("", None),
    ],
)
def test_normalise_licence(raw, expected):
    assert normalise_licence(raw) == expected


def test_labels():
    assert licence_label("cc-by", "http://creativecommons.org/licenses/by/4.0/") == "CC BY 4.0"
    assert licence_label("cc-by-nc") == "CC BY-NC"
    assert licence_label(None) == "no licence stated"


def loc(url, **kw):
    return Location(url=url, source=kw.pop("source", "unpaywall"), **kw)


def test_best_location_prefers_published_then_open_licence_then_publisher():
    pre = loc(
        "https://arxiv.org/abs/1",
        version=Version.SUBMITTED,
        licence="cc-by",
        host_type="repository",
    )
    am = loc("https://europepmc.org/1", version=Version.ACCEPTED, host_type="repository")
    vor_free = loc("https://pub.example/1", version=Version.PUBLISHED, host_type="publisher")
    vor_cc = loc(
        "https://pmc.example/1", version=Version.PUBLISHED, licence="cc-by", host_type="repository"
    )
    assert best_location([pre, am]) is am
    assert best_location([pre, am, vor_free]) is vor_free
    assert best_location([vor_free, vor_cc]) is vor_cc


def test_shadow_libraries_are_never_linked():
    bad = loc("https://sci-hub.se/10.1/x", version=Version.PUBLISHED)
    good = loc("https://arxiv.org/abs/2", version=Version.SUBMITTED)
    assert is_shadow_library(bad.url)
    assert best_location([bad]) is None
    assert best_location([bad, good]) is good
    access = choose_access(doi="10.1/x", locations=[bad])
    assert access.url is None and access.status == "closed"


def test_missing_licence_means_free_to_read_only():
    access = choose_access(
        doi="10.1/x",
        locations=[loc("https://pub.example/x", version=Version.PUBLISHED, host_type="publisher")],
        statuses=[("unpaywall", "bronze")],
    )
    assert access.status == "bronze"
    assert access.licence is None
    assert "no licence stated: free to read only" in access.reason


def test_closed_work_says_read_at_source():
    access = choose_access(doi="10.1/x", locations=[], statuses=[("unpaywall", "closed")])
    assert access.status == "closed" and access.url is None
    assert access.read_at == "https://doi.org/10.1/x"
    assert "Citation only" in access.reason


def test_publisher_deposited_cc_licence_fills_a_missing_one():
    statements = [
        LicenceStatement(
            "cc-by", "http://creativecommons.org/licenses/by/4.0/", "vor", "2023-02-16"
        )
    ]
    access = choose_access(
        doi="10.1186/x", locations=[], crossref_licences=statements, today=date(2026, 1, 1)
    )
    assert access.licence == "cc-by" and access.url == "https://doi.org/10.1186/x"
    assert access.source == "crossref" and access.status == "gold"


def test_embargoed_licence_does_not_count_yet():
    statements = [
        LicenceStatement(
            "cc-by", "https://creativecommons.org/licenses/by/4.0/", "am", "2030-01-01"
        ),
        LicenceStatement(
            "cc-by-nc-nd", "https://creativecommons.org/licenses/by-nc-nd/4.0/", "vor", "2030-01-01"
        ),
    ]
    access = choose_access(
        doi="10.1/x", locations=[], crossref_licences=statements, today=date(2026, 1, 1)
    )
    assert access.status == "closed" and access.licence is None


def test_tdm_licence_is_not_an_open_licence():
    statements = [LicenceStatement(None, "https://www.elsevier.com/tdm/userlicense/1.0/", "tdm")]
    access = choose_access(doi="10.1/x", locations=[], crossref_licences=statements)
    assert access.status == "closed"
