"""Branded 400, 403, 404 and 500 pages with a way back, and, with DEBUG on, Django's technical
pages (the URL list, tracebacks, settings) for signed-in staff only (issue 16 "Deploy-time
safety", issue 17 "Branded 403, 404 and 500 pages")."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

pytestmark = pytest.mark.urls("tests.error_urls")

TECHNICAL_404 = "Using the URLconf defined in"
TECHNICAL_500 = "Traceback"


def client(user=None) -> Client:
    # raise_request_exception=False: see the 500 page a browser gets instead of the exception.
    browser = Client(raise_request_exception=False)
    if user is not None:
        browser.force_login(user)
    return browser


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


# --- what everyone but staff gets, with DEBUG on or off ------------------------------------------------


def test_an_unknown_address_gets_the_branded_404_without_the_url_list(db, debug):
    response = client().get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and f'href="{reverse("login")}"' in page
    assert TECHNICAL_404 not in page and "api/schema" not in page


def test_a_deal_the_user_may_not_see_gets_the_branded_404_with_navigation_back(opportunity, outsider, debug):
    response = client(outsider).get(reverse("opportunities:detail", args=[opportunity.pk]))
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and "Back to My deals" in page
    assert f'href="{reverse("opportunities:my_deals")}"' in page and "Sign out" in page
    assert TECHNICAL_404 not in page and "No Opportunity matches" not in page


def test_a_refused_change_gets_the_branded_403_with_its_reason(opportunity, viewer, debug):
    response = client(viewer).post(reverse("opportunities:edit", args=[opportunity.pk]), {"name": "x"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "You can view this opportunity but not change it." in page and "Back to My deals" in page


def test_a_form_without_its_csrf_token_gets_the_branded_403(owner, debug):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    response = browser.post(reverse("logout"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "That form has expired" in page and 'href="/"' in page and "CSRF_COOKIE" not in page


def test_a_crash_gets_the_branded_500_without_the_traceback(owner, debug, caplog):
    response = client(owner).get("/__test__/crash/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page and 'href="/"' in page
    assert TECHNICAL_500 not in page and "secret-internal-detail" not in page and "SECRET_KEY" not in page
    # Still logged, with the traceback, for whoever runs the server.
    assert any(record.exc_info and "secret-internal-detail" in str(record.exc_info[1]) for record in caplog.records)


def test_bad_input_gets_the_branded_400(owner, debug):
    response = client(owner).get("/__test__/bad-request/")
    assert response.status_code == 400
    page = response.content.decode()
    assert "could not be understood" in page and "Back to My deals" in page and TECHNICAL_500 not in page


def test_the_500_page_needs_no_database_and_no_context(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500 and b"Back to Lockstep" in response.content


# --- staff, with DEBUG on, keep the technical pages ------------------------------------------------------


def test_staff_get_the_technical_pages_with_debug_on(admin, settings):
    settings.DEBUG = True
    staff = client(admin)
    not_found = staff.get("/no-such-page/")
    assert not_found.status_code == 404 and TECHNICAL_404 in not_found.content.decode()
    crashed = staff.get("/__test__/crash/", headers={"Accept": "text/html"})
    assert crashed.status_code == 500 and TECHNICAL_500 in crashed.content.decode()


def test_staff_get_the_branded_pages_with_debug_off(admin, settings):
    settings.DEBUG = False
    staff = client(admin)
    assert TECHNICAL_404 not in staff.get("/no-such-page/").content.decode()
    assert TECHNICAL_500 not in staff.get("/__test__/crash/").content.decode()


def test_a_missing_slash_is_still_redirected(owner, settings):
    settings.DEBUG = True
    response = client(owner).get("/board")
    assert response.status_code == 301 and response["Location"] == "/board/"


@pytest.mark.parametrize("who", ["anonymous", "admin-role-not-staff", "manager"])
def test_only_staff_get_the_technical_pages_with_debug_on(who, manager, settings):
    """Being an admin of the CRM (role) is not being staff: the traceback and URL list stay hidden."""
    from tests.factories import UserFactory

    settings.DEBUG = True
    user = {
        "anonymous": None,
        "admin-role-not-staff": UserFactory(username="crm-admin", role="admin", is_staff=False),
        "manager": manager,
    }[who]
    browser = client(user)
    not_found = browser.get("/no-such-page/").content.decode()
    assert "Page not found" in not_found and TECHNICAL_404 not in not_found
    crashed = browser.get("/__test__/crash/", headers={"Accept": "text/html"})
    if user is None:  # no view runs before signing in, so nothing can crash for a stranger
        assert crashed.status_code == 302 and crashed["Location"].startswith(reverse("login"))
        return
    page = crashed.content.decode()
    assert "Something went wrong" in page and 'href="/"' in page and TECHNICAL_500 not in page
