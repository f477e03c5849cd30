"""The global search (`opportunities.search`, the search page, My deals' search by contact).

The tests without a marker run on both databases: what both searches find (names, parts of
emails, websites and phone numbers) and never find (what the user may not see). The plain
fallback is checked on either database by forcing it; typos and stemming, which only
PostgreSQL's trigram and full-text search find, carry the `postgresql` marker.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opportunities import search, services
from opportunities.models import Account, Contact, Opportunity
from people.models import AccountVisibility, OrgSettings
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

SEARCH = reverse("opportunities:search")


@pytest.fixture
def found(owner):
    """`found(text)`: the names search finds for `owner`, by kind."""

    def run(text: str, user=None) -> dict[str, list[str]]:
        results = search.search(user or owner, text, per_page=50)
        return {kind: [str(row) for row in page] for kind, page in results.pages.items()}

    return run


@pytest.fixture
def book(owner, outsider, account, contact, opportunity, process):
    """Acme Corp (acme.example) with Carla Contact on the owner's deal "Acme rollout", and an
    outsider's account and deal that the owner may read (the account) or not (the deal)."""
    account.website = "https://www.acme.example"
    account.save()
    contact.phone = "+1 (555) 010-1234"
    contact.save()
    services.buying_team_add(opportunity, actor=owner, contact=contact, roles=["champion"])
    secret = AccountFactory(name="Globex Holdings", owner=outsider, website="https://globex.example")
    ContactFactory(account=secret, first_name="Gina", last_name="Globex", email="gina@globex.example")
    stage = process.stages.order_by("order").first()
    OpportunityFactory(name="Acme secret expansion", owner=outsider, account=secret, process=process, stage=stage)
    return opportunity


# --- both databases --------------------------------------------------------------------------------


def test_finds_deals_accounts_and_contacts_by_name(book, found):
    assert found("acme") == {
        "deals": ["Acme rollout"],
        "accounts": ["Acme Corp"],
        "contacts": ["Carla Contact"],  # her email is at acme.example
    }
    assert found("Carla")["contacts"] == ["Carla Contact"]
    assert found("carla contact")["contacts"] == ["Carla Contact"]


def test_finds_by_email_domain_and_phone(book, found):
    assert found("acme.example")["accounts"] == ["Acme Corp"]
    assert found("acme.example")["contacts"] == ["Carla Contact"]
    assert found("carla@acme")["contacts"] == ["Carla Contact"]
    # a phone number matches on its digits, however either side spells it
    assert found("555 010 1234")["contacts"] == ["Carla Contact"]
    assert found("(555) 0101234")["contacts"] == ["Carla Contact"]
    assert found("0101")["contacts"] == ["Carla Contact"]


def test_an_outsiders_deals_never_appear(book, found, outsider):
    assert "Acme secret expansion" not in found("acme")["deals"]
    assert found("secret expansion")["deals"] == []
    assert found("secret expansion", outsider)["deals"] == ["Acme secret expansion"]


def test_accounts_and_contacts_follow_the_account_visibility(book, found, owner):
    assert found("globex")["accounts"] == ["Globex Holdings"]  # by default everyone reads every account
    OrgSettings.objects.update_or_create(pk=1, defaults={"account_visibility": AccountVisibility.OWN})
    fresh = type(owner).objects.get(pk=owner.pk)  # the settings are read once per user object
    assert found("globex", fresh) == {"deals": [], "accounts": [], "contacts": []}


def test_nothing_for_empty_or_blank_text(book, found):
    assert found("") == {"deals": [], "accounts": [], "contacts": []}
    assert found("   ") == {"deals": [], "accounts": [], "contacts": []}


def test_long_text_is_cut_to_the_limit(book, found):
    results = search.search(book.owner, "acme " * 60)
    assert len(results.text) <= search.MAX_LENGTH
    assert [str(a) for a in results.pages["accounts"]] == ["Acme Corp"]


def test_one_kind_pages_through_all_its_matches(owner, account, found):
    for i in range(12):
        ContactFactory(account=account, first_name="Zoe", last_name=f"Zed {i:02d}")
    results = search.search(owner, "zoe", kind="contacts", page=2, per_page=5)
    assert list(results.pages) == ["contacts"]
    assert [str(c) for c in results.pages["contacts"]] == [f"Zoe Zed {i:02d}" for i in range(5, 10)]
    assert results.pages["contacts"].paginator.count == 12


def test_the_plain_fallback_matches_every_word_somewhere(book, found, monkeypatch):
    monkeypatch.setattr(search, "_postgres", lambda queryset: False)
    assert found("acme") == {"deals": ["Acme rollout"], "accounts": ["Acme Corp"], "contacts": ["Carla Contact"]}
    assert found("rollout acme")["deals"] == ["Acme rollout"]
    assert found("carla acme.example")["contacts"] == ["Carla Contact"]
    assert found("555 010 1234")["contacts"] == ["Carla Contact"]
    # no typos and no stemming without PostgreSQL
    assert found("Acme Crop")["accounts"] == []
    assert found("rollouts")["deals"] == []


def test_sqlite_uses_the_plain_fallback(book, found):
    """The one behaviour that tells the two apart: a typo."""
    typo = found("Acme Crop")["accounts"]
    assert typo == (["Acme Corp"] if connection.vendor == "postgresql" else [])


# --- PostgreSQL: full-text and trigrams --------------------------------------------------------------


@pytest.mark.postgresql
def test_a_typo_finds_the_name(book, found):
    assert found("Acme Crop")["accounts"] == ["Acme Corp"]
    assert found("Carla Contakt")["contacts"] == ["Carla Contact"]
    assert found("acme rolout")["deals"] == ["Acme rollout"]


@pytest.mark.postgresql
def test_a_stemmed_word_finds_the_name(book, found, owner, process):
    OpportunityFactory(
        name="Initech renewals 2027", owner=owner, account=book.account, process=process, stage=book.stage
    )
    assert found("renewal")["deals"] == ["Initech renewals 2027"]
    assert found("renewing")["deals"] == ["Initech renewals 2027"]


@pytest.mark.postgresql
def test_the_closest_name_comes_first(book, found, owner):
    AccountFactory(name="Acme Corporation International Holdings", owner=owner)
    AccountFactory(name="Acne Corp", owner=owner)
    assert found("Acme Corp")["accounts"][0] == "Acme Corp"


@pytest.mark.postgresql
@pytest.mark.parametrize(
    ("model", "index"),
    [
        (Account, "account_name_trgm_idx"),
        (Opportunity, "opportunity_name_trgm_idx"),
        (Contact, "contact_name_trgm_idx"),
    ],
)
def test_the_name_search_can_read_its_trigram_index(book, model, index):
    finder = {Account: search.accounts, Opportunity: search.deals, Contact: search.contacts}[model]
    query = finder(book.owner, "acme crop")
    with connection.cursor() as cursor:
        # A test's tables are tiny: forbid reading them whole (a sequential scan, or a full
        # scan of some other index), so that the plan shows whether the search can use its own.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


# --- the page --------------------------------------------------------------------------------------


def test_the_page_lists_each_kind_with_links(book, client_for, owner, contact):
    body = client_for(owner).get(SEARCH, {"q": "acme"}).content.decode()
    assert f'href="/deals/{book.pk}/"><strong>Acme rollout</strong>' in body
    assert f'href="/accounts/{book.account_id}/"><strong>Acme Corp</strong>' in body
    assert f'href="/contacts/{contact.pk}/"><strong>Carla Contact</strong>' in body
    assert "Acme secret expansion" not in body


def test_the_page_links_to_all_of_a_kind_and_pages_it(client_for, owner, account):
    for i in range(30):
        ContactFactory(account=account, first_name="Zoe", last_name=f"Zed {i:02d}")
    client = client_for(owner)
    overview = client.get(SEARCH, {"q": "zoe"}).content.decode()
    assert "All 30 contacts" in overview
    page2 = client.get(SEARCH, {"q": "zoe", "kind": "contacts", "page": 2}).content.decode()
    assert "Page 2 of 2 · 30 in all" in page2
    assert "Zoe Zed 29" in page2 and "Zoe Zed 00" not in page2
    assert 'href="?q=zoe&amp;kind=contacts&amp;page=1"' in page2


@pytest.mark.parametrize("q", ["", "x" * 500, "\x00acme", "<script>", "%", "'; drop table"])
def test_odd_input_is_a_page_not_an_error(book, client_for, owner, q):
    response = client_for(owner).get(SEARCH, {"q": q, "kind": "nonsense", "page": "x"})
    assert response.status_code == 200
    assert "<script>" not in response.content.decode().split("<main", 1)[1]


def test_the_page_costs_the_same_queries_for_many_results(client_for, owner, account, process):
    client = client_for(owner)
    stage = process.stages.order_by("order").first()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(SEARCH, {"q": "zed"}).status_code == 200
        return len(captured)

    ContactFactory(account=account, last_name="Zed")
    AccountFactory(name="Zed", owner=owner)
    OpportunityFactory(name="Zed deal", owner=owner, account=account, process=process, stage=stage)
    queries()  # the first request of a session reads what later ones have cached
    few = queries()
    for i in range(20):
        ContactFactory(account=account, last_name=f"Zed {i}")
        OpportunityFactory(name=f"Zed deal {i}", owner=owner, account=account, process=process, stage=stage)
        AccountFactory(name=f"Zed {i}", owner=owner)
    assert queries() == few
    # the session and user, the bell, then a count and a page for each of the three kinds
    assert few <= 10


def test_every_page_has_the_search_box(client_for, owner):
    body = client_for(owner).get(reverse("opportunities:my_deals")).content.decode()
    assert 'role="search"' in body and 'id="global-q"' in body and 'aria-keyshortcuts="/"' in body
    assert "js/search-shortcut.js" in body


# --- My deals: by a buying-team contact's name ---------------------------------------------------------


def test_my_deals_search_finds_a_deal_by_its_contacts_name(book, client_for, owner, contact):
    client = client_for(owner)
    for q in ("Carla", "carla contact", "Contact"):
        body = client.get(reverse("opportunities:my_deals"), {"q": q}).content.decode()
        assert "Acme rollout" in body, q
    assert "Acme rollout" not in client.get(reverse("opportunities:my_deals"), {"q": "Gina"}).content.decode()
    assert list(Opportunity.objects.for_user(owner).search("carla")) == [book]
