"""The public list of signatories: its total, "is my name there?" over public names only, and
pages to jump through (first, previous, next, last, a number)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

from conftest import G20
from test_moderation import add_signatures, signature_row

from petitions.models.columns import utcnow

URL = f"/letters/{G20}/signatories"


def people(app: Any, count: int) -> None:
    """``count`` public individuals "Person 001"… confirmed a minute apart (001 is the oldest)."""
    start = utcnow() - timedelta(days=1)
    add_signatures(
        app,
        [
            signature_row(app, name=f"Person {n:03d}", confirmed_at=start + timedelta(minutes=n))
            for n in range(1, count + 1)
        ],
    )


def names(html: str) -> list[str]:
    listed = html.split('<ul class="signatories">', 1)
    if len(listed) < 2:
        return []
    return [
        unescape(n) for n in re.findall(r"<strong>([^<]+)</strong>", listed[1].split("</ul>")[0])
    ]


def links(html: str) -> dict[str, str]:
    """The pager's links by their text (First, Previous, Next, Last, 1, 2, …)."""
    pager = html.split('<nav class="pager"', 1)[1].split("</nav>", 1)[0]
    found = {}
    for href, label in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>(.*?)</a>', pager):
        text = re.sub(r"<[^>]+>", "", label).replace("Page", "").strip(" \u00ab\u00bb\u2039\u203a")
        found[text] = unescape(href)
    return found


def test_search_finds_public_names_only(app, client):
    add_signatures(
        app,
        [
            signature_row(app, name="Ana Hoxha", email="ana@example.org"),
            signature_row(app, name="Anastasia Private", is_public=False, email="p@example.org"),
            signature_row(app, name="Ana Hidden", is_hidden=True, email="h@example.org"),
            signature_row(app, name="Ana Pending", status="pending", email="w@example.org"),
            signature_row(app, name="Drita Krasniqi", email="d@example.org"),
            # An organisation is listed by its own name, never by the person who signed for it.
            signature_row(
                app,
                kind="organisation",
                name="Ana Contact",
                organisation="Qendra Ana",
                email="org@example.org",
            ),
        ],
    )
    found = client.get(f"{URL}?kind=individual&q=ana&lang=en").get_data(as_text=True)
    assert names(found) == ["Ana Hoxha"]
    assert "1 name matches “ana”." in found
    assert "2 people are on the public list." in found  # the whole list's total
    assert (
        client.get(f"{URL}?kind=individual&q=Anastasia").get_data(as_text=True).count("Anastasia")
        == 2
    )  # the search box and the "no match" line, no list entry
    assert names(client.get(f"{URL}?kind=individual&q=example.org").get_data(as_text=True)) == []
    organisations = client.get(f"{URL}?kind=organisation&q=contact").get_data(as_text=True)
    assert names(organisations) == []
    assert "No name on the public list matches your search." in organisations
    assert names(client.get(f"{URL}?kind=organisation&q=qendra").get_data(as_text=True)) == [
        "Qendra Ana"
    ]


def test_search_reads_its_words_literally(app, client):
    add_signatures(app, [signature_row(app, name="Ana Hoxha", email="a@example.org")])
    for query in ("%", "_", "a%h", "\\"):
        answer = client.get(URL, query_string={"kind": "individual", "q": query})
        assert answer.status_code == 200
        assert names(answer.get_data(as_text=True)) == [], query
    both = client.get(f"{URL}?kind=individual&q=hoxha+ana").get_data(as_text=True)
    assert names(both) == ["Ana Hoxha"]  # every word, in any order


def test_albanian_letters_in_a_name_are_found(app, client):
    add_signatures(app, [signature_row(app, name="Ëngjëll Çela", email="e@example.org")])
    assert names(client.get(f"{URL}?kind=individual&q=Çela").get_data(as_text=True)) == [
        "Ëngjëll Çela"
    ]


def test_pages_can_be_jumped_through(make_app):
    app = make_app(PUBLIC_PAGE_SIZE=10)
    client = app.test_client()
    people(app, 45)  # five pages: 10, 10, 10, 10, 5
    first = client.get(f"{URL}?kind=individual&lang=en").get_data(as_text=True)
    assert "45 people are on the public list." in first
    assert "Page 1 of 5" in first
    assert names(first) == [f"Person {n:03d}" for n in range(45, 35, -1)]
    pager = links(first)
    assert "First" not in pager and "Previous" not in pager
    assert {"2", "3", "Next", "Last"} <= set(pager)

    # Next: a keyset cursor, not an offset.
    second = client.get(pager["Next"]).get_data(as_text=True)
    assert "after=" in pager["Next"]
    assert names(second) == [f"Person {n:03d}" for n in range(35, 25, -1)]
    assert "Page 2 of 5" in second

    # Last: the five oldest.
    last = client.get(pager["Last"]).get_data(as_text=True)
    assert names(last) == [f"Person {n:03d}" for n in range(5, 0, -1)]
    assert "Page 5 of 5" in last and "Next" not in links(last)

    # Previous from the last page: a keyset cursor the other way.
    previous = links(last)["Previous"]
    assert "before=" in previous
    fourth = client.get(previous).get_data(as_text=True)
    assert names(fourth) == [f"Person {n:03d}" for n in range(15, 5, -1)]
    assert "Page 4 of 5" in fourth

    # A page number, typed or chosen.
    third = client.get(f"{URL}?kind=individual&page=3").get_data(as_text=True)
    assert names(third) == [f"Person {n:03d}" for n in range(25, 15, -1)]
    assert '<span aria-current="page" class="current">3</span>' in third
    assert client.get(links(third)["First"]).get_data(as_text=True).count("Person 045") == 1

    # Numbers out of range land on the nearest page, never an error.
    assert "Page 5 of 5" in client.get(f"{URL}?kind=individual&page=999").get_data(as_text=True)
    assert "Page 1 of 5" in client.get(f"{URL}?kind=individual&page=-3").get_data(as_text=True)
    assert "Page 1 of 5" in client.get(f"{URL}?kind=individual&page=x").get_data(as_text=True)


def test_a_search_keeps_its_words_across_pages(make_app):
    app = make_app(PUBLIC_PAGE_SIZE=10)
    client = app.test_client()
    people(app, 30)
    add_signatures(app, [signature_row(app, name="Drita Krasniqi", email="d@example.org")])
    page = client.get(f"{URL}?kind=individual&q=person").get_data(as_text=True)
    assert "Page 1 of 3" in page
    following = client.get(links(page)["Next"]).get_data(as_text=True)
    assert "q=person" in links(page)["Next"]
    assert "Drita" not in "".join(names(following))
    assert len(names(following)) == 10


def test_role_and_place_are_set_apart(app, client):
    add_signatures(
        app,
        [
            signature_row(
                app, name="Ana Hoxha", title="Teacher", organisation="School 5", city="Tiranë"
            )
        ],
    )
    page = client.get(f"{URL}?kind=individual&lang=en").get_data(as_text=True)
    assert '<span class="role">Teacher, School 5</span>' in page
    assert '<span class="where">Tiranë, Albania</span>' in page
    with client.get("/static/site.css") as css:
        rule = ".signatories .role, .signatories .where { display: block; }"
        assert css.get_data(as_text=True).count(rule) == 1
