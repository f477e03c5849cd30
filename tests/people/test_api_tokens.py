"""Personal API tokens: made, listed and revoked on the profile page, stored hashed, scoped, and
the API's rate limits per token and per user."""

import datetime as dt

import pytest
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from people import services, tokens
from people.errors import PeopleError
from people.models import ApiToken, TokenScope
from tests.factories import AccountFactory

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_profile_creates_a_token_shows_its_secret_once_and_stores_only_a_digest(client, owner):
    client.force_login(owner)
    response = client.post(reverse("api_token_create"), {"name": "Sheet sync", "scope": "write"})
    assert response.status_code == 302
    page = client.get(reverse("profile")).content.decode()
    token = ApiToken.objects.get(user=owner)
    secret = page.split('id="new-token" type="text" readonly value="')[1].split('"')[0]
    assert secret.startswith("lst_") and token.prefix == secret[:12]
    assert token.digest == tokens.digest(secret) and secret not in (token.digest, token.prefix)
    assert token.scope == TokenScope.WRITE and "Sheet sync" in page
    # Shown once: the next visit lists the token without its secret.
    assert secret not in client.get(reverse("profile")).content.decode()


def test_a_nameless_token_is_refused_with_a_message_and_nothing_stored(client, owner):
    client.force_login(owner)
    response = client.post(reverse("api_token_create"), {"name": "  ", "scope": "read"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_token_authenticates_as_its_user_and_records_last_use(owner, account):
    token, secret = services.api_token_create(actor=owner, name="ci", scope="read", now=NOW)
    response = bearer(secret).get(reverse("api:account_detail", args=[account.pk]))
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_token_sees_only_what_its_user_sees(outsider, account):
    _, secret = services.api_token_create(actor=outsider, name="ci", scope="write", now=NOW)
    other = AccountFactory(owner=account.owner)
    assert bearer(secret).get(reverse("api:opportunity_list")).status_code == 200
    assert bearer(secret).patch(reverse("api:account_detail", args=[other.pk]), {}).status_code in (403, 404)


def test_read_only_token_gets_403_on_unsafe_methods(owner, account):
    _, secret = services.api_token_create(actor=owner, name="ro", scope="read", now=NOW)
    response = bearer(secret).patch(reverse("api:account_detail", args=[account.pk]), {"name": "X"}, format="json")
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    account.refresh_from_db()
    assert account.name != "X"


def test_read_write_token_may_write(owner, account):
    _, secret = services.api_token_create(actor=owner, name="rw", scope="write", now=NOW)
    response = bearer(secret).patch(
        reverse("api:account_detail", args=[account.pk]), {"name": "Renamed"}, format="json"
    )
    assert response.status_code == 200, response.content
    # Token requests carry no session, so no CSRF token is needed either.
    account.refresh_from_db()
    assert account.name == "Renamed"


def test_revoked_unknown_and_malformed_tokens_are_refused(client, owner, account):
    token, secret = services.api_token_create(actor=owner, name="old", scope="read", now=NOW)
    client.force_login(owner)
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 302
    detail = reverse("api:account_detail", args=[account.pk])
    assert bearer(secret).get(detail).status_code == 403
    assert bearer("lst_nope").get(detail).status_code == 403
    assert bearer("two words").get(detail).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_no_http_basic_authentication(owner, account):
    owner.set_password("pw-123-secret")
    owner.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic b3duZXI6cHctMTIzLXNlY3JldA==")
    assert client.get(reverse("api:account_detail", args=[account.pk])).status_code == 403


def test_a_user_may_not_revoke_anothers_token(client, owner, teammate):
    token, _ = services.api_token_create(actor=owner, name="mine", scope="read", now=NOW)
    client.force_login(teammate)
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_active_tokens_are_bounded(owner):
    for i in range(services.MAX_ACTIVE_TOKENS):
        services.api_token_create(actor=owner, name=f"t{i}", scope="read", now=NOW)
    with pytest.raises(PeopleError, match="revoke one"):
        services.api_token_create(actor=owner, name="one more", scope="read", now=NOW)


def test_profile_lists_tokens_in_few_queries(client, owner, django_assert_max_num_queries):
    for i in range(5):
        services.api_token_create(actor=owner, name=f"t{i}", scope="read", now=NOW)
    client.force_login(owner)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("profile")).status_code == 200


@override_settings(
    REST_FRAMEWORK={
        **__import__("django.conf").conf.settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "2/minute", "user": "4/minute"},
    }
)
def test_rate_limits_per_token_and_per_user_answer_429_with_retry_after(owner, account):
    from django.core.cache import cache

    cache.clear()
    _, first = services.api_token_create(actor=owner, name="a", scope="read", now=NOW)
    _, second = services.api_token_create(actor=owner, name="b", scope="read", now=NOW)
    detail = reverse("api:account_detail", args=[account.pk])
    assert [bearer(first).get(detail).status_code for _ in range(2)] == [200, 200]
    refused = bearer(first).get(detail)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    # Another token of the same user has its own budget; the user's (4, the refused request counts) is then spent.
    assert bearer(second).get(detail).status_code == 200
    assert bearer(second).get(detail).status_code == 429
    cache.clear()


def test_api_docs_are_served_from_vendored_assets(client, owner):
    client.force_login(owner)
    for name in ("api_docs", "api_redoc"):
        page = client.get(reverse(name)).content.decode()
        assert "/static/vendor/" in page and "https://" not in page.split("<body>")[0]
    from django.contrib.staticfiles import finders

    for path in (
        "vendor/swagger-ui/swagger-ui-bundle.js",
        "vendor/swagger-ui/swagger-ui.css",
        "vendor/redoc/redoc.standalone.js",
    ):
        assert finders.find(path)


def test_api_docs_need_signing_in(client):
    assert client.get(reverse("api_docs")).status_code == 302
