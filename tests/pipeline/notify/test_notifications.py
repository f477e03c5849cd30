"""In-app notifications: the bell in the layout, the list page, mark read and mark all read.

The view quintet, as it applies to notifications, which are private to one person: it works; a
teammate is no "permitted reader" of someone else's notifications, so teammate and outsider alike
get 404 for them; there is no read-only persona for one's own notifications, so the 403 leg does
not apply; a wrong method gets 405.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pipeline.health import services
from pipeline.models import Notification

LIST = reverse("pipeline:notifications")
READ_ALL = reverse("pipeline:notifications_read_all")
HTMX = {"HTTP_HX_REQUEST": "true"}


def read_url(n: Notification) -> str:
    return reverse("pipeline:notification_read", args=[n.pk])


def notify(user, count: int, now, **fields) -> list[Notification]:
    return [
        Notification.objects.create(
            user=user,
            message=f"Deal {i}: idle {i} days",
            url=f"/deals/{i}/",
            created_at=now - dt.timedelta(minutes=count - i),
            **fields,
        )
        for i in range(count)
    ]


# --- the bell ------------------------------------------------------------------------------------------------


def test_the_bell_shows_the_unread_count_and_links_to_the_list(client_for, owner, now):
    notify(owner, 3, now)
    notify(owner, 2, now, read_at=now)

    html = client_for(owner).get(reverse("opportunities:my_deals")).content.decode()

    bell = html.split('id="bell"')[1].split("</a>")[0]
    assert f'href="{LIST}"' in bell
    assert '<span class="bell-count">3<span class="sr-only"> unread</span>' in bell


def test_the_bell_has_no_count_when_all_is_read_and_caps_at_99(client_for, owner, manager, now):
    notify(owner, 2, now, read_at=now)
    notify(manager, 120, now)

    assert "bell-count" not in client_for(owner).get(LIST).content.decode()
    assert '<span class="bell-count">99+' in client_for(manager).get(LIST).content.decode()


def notification_queries(ctx) -> int:
    return sum(Notification._meta.db_table in q["sql"] for q in ctx.captured_queries)


@pytest.mark.parametrize("unread", [5, 120])
def test_the_bell_costs_one_query_however_many_are_unread(client_for, owner, now, unread):
    notify(owner, unread, now)
    client = client_for(owner)
    client.get(reverse("opportunities:account_list"))
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(reverse("opportunities:account_list")).content.decode()
    assert notification_queries(ctx) == 1
    assert f'<span class="bell-count">{unread if unread < 100 else "99+"}' in body


def test_htmx_partials_do_not_count(client_for, owner, opportunity, now):
    with CaptureQueriesContext(connection) as ctx:
        client_for(owner).get(reverse("opportunities:my_deals"), **HTMX)
    assert notification_queries(ctx) == 0


def test_a_sweep_rings_the_owners_and_the_managers_bells(client_for, owner, manager, teammate, opportunity, now):
    services.pipeline_sweep(now=now)
    for user, count in ((owner, 1), (manager, 1)):
        html = client_for(user).get(LIST).content.decode()
        assert f'<span class="bell-count">{count}' in html
        assert f'<a href="/deals/{opportunity.pk}/">Acme rollout: no next step</a>' in html
    assert "bell-count" not in client_for(teammate).get(LIST).content.decode()


# --- the list ------------------------------------------------------------------------------------------------


def test_the_list_shows_only_mine_newest_first_paginated(client_for, owner, teammate, now):
    notify(owner, 30, now)
    notify(teammate, 1, now)

    client = client_for(owner)
    first = client.get(LIST).content.decode()
    second = client.get(LIST, {"page": 2}).content.decode()

    assert first.index("Deal 29:") < first.index("Deal 28:")
    assert first.count('<li id="notification-') == 25
    assert second.count('<li id="notification-') == 5
    assert "Page 1 of 2" in first
    assert "Deal 0:" in second


def test_an_empty_list_says_so(client_for, owner):
    assert "Nothing yet" in client_for(owner).get(LIST).content.decode()


def test_the_list_queries_do_not_grow_with_rows(client_for, owner, now):
    client = client_for(owner)
    notify(owner, 3, now)
    client.get(LIST)
    with CaptureQueriesContext(connection) as small:
        client.get(LIST)
    notify(owner, 40, now)
    with CaptureQueriesContext(connection) as large:
        response = client.get(LIST)
    assert response.status_code == 200
    assert len(small) == len(large) <= 6


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_list_refuses_other_methods(client_for, owner, method):
    assert getattr(client_for(owner), method)(LIST).status_code == 405


# --- mark read ---------------------------------------------------------------------------------------------------


def test_mark_read_marks_it_and_redirects_back(client_for, owner, now):
    n, other = notify(owner, 2, now)

    response = client_for(owner).post(read_url(n), {"next": f"{LIST}?page=1"})

    assert response.status_code == 302 and response["Location"] == f"{LIST}?page=1"
    n.refresh_from_db()
    other.refresh_from_db()
    assert n.read_at == now and other.read_at is None


def test_mark_read_twice_keeps_the_first_time(client_for, owner, now):
    (n,) = notify(owner, 1, now, read_at=now - dt.timedelta(days=1))
    client_for(owner).post(read_url(n))
    n.refresh_from_db()
    assert n.read_at == now - dt.timedelta(days=1)


def test_mark_read_ignores_a_next_that_leaves_the_site(client_for, owner, now):
    (n,) = notify(owner, 1, now)
    response = client_for(owner).post(read_url(n), {"next": "https://evil.example/"})
    assert response["Location"] == LIST


def test_mark_read_with_htmx_returns_the_item_and_the_new_bell(client_for, owner, now):
    n, _ = notify(owner, 2, now)

    response = client_for(owner).post(read_url(n), **HTMX)

    html = response.content.decode()
    assert f'id="notification-{n.pk}"' in html and "Mark read" not in html.split('id="bell"')[0]
    assert 'hx-swap-oob="true"' in html
    assert '<span class="bell-count">1<' in html


@pytest.mark.parametrize("who", ["teammate", "outsider", "manager"])
def test_someone_elses_notification_is_404(request, client_for, owner, now, who):
    (n,) = notify(owner, 1, now)
    assert client_for(request.getfixturevalue(who)).post(read_url(n)).status_code == 404
    n.refresh_from_db()
    assert n.read_at is None


def test_mark_read_refuses_get(client_for, owner, now):
    (n,) = notify(owner, 1, now)
    assert client_for(owner).get(read_url(n)).status_code == 405


# --- mark all read -----------------------------------------------------------------------------------------------


def test_mark_all_read_marks_only_mine_and_says_how_many(client_for, owner, teammate, now):
    notify(owner, 3, now)
    notify(owner, 1, now, read_at=now - dt.timedelta(days=1))
    (theirs,) = notify(teammate, 1, now)

    response = client_for(owner).post(READ_ALL, follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert "Marked 3 notifications read." in response.content.decode()
    assert not Notification.objects.filter(user=owner, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert "bell-count" not in response.content.decode()


def test_mark_all_read_refuses_get(client_for, owner):
    assert client_for(owner).get(READ_ALL).status_code == 405


def test_signed_out_people_are_sent_to_sign_in(client):
    assert client.get(LIST).status_code == 302
    assert client.get(reverse("pipeline:needs_attention")).status_code == 302
