"""The global search: the deals, accounts and contacts a user may see, found by name, email,
phone or domain.

`search(user, text)` is the one entry point of the pages and the API; `deals`, `accounts` and
`contacts` give one kind, best match first, to page through.

On PostgreSQL a row matches when the text's words match its name's words (full-text, stemmed:
"renewal" finds "Renewals"), when the text is close to its name in trigrams (a typo: "Acme Crop"
finds "Acme Corp"), or when the text is part of it (a name, an email, a website's domain, a
phone number's digits). Each test reads a GIN index declared on the model (migration
`opportunities` 0013). Results are ranked by the full-text rank plus the trigram similarity.

Elsewhere (SQLite) a row matches when every word of the text is part of one of its fields, in
name order: no stemming, no typos.

Reads start from `for_user()`: a row the user may not see never matches.
"""

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector, TrigramWordSimilarity
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import F, FloatField, Q, QuerySet, Value
from django.db.models.functions import Concat, Upper

from .indexes import digits_only
from .models import Account, Contact, Opportunity

KINDS = ("deals", "accounts", "contacts")
# Longer input is cut here: nobody types more into a search box, and it bounds the work.
MAX_LENGTH = 100
# At most this many words are matched on SQLite (one condition each).
MAX_WORDS = 5
# Trigram tests need three characters to say anything; shorter text matches by substring only.
TRIGRAM_MIN_LENGTH = 3
# A phone number is searched by its digits when the text is only digits and separators and has
# at least this many digits ("555" would match half the book's area codes, but is still asked for).
PHONE_MIN_DIGITS = 3
PHONE_TEXT = re.compile(r"^[\d\s\-.()+/]+$")


def _postgres(queryset: QuerySet) -> bool:
    return connections[queryset.db].vendor == "postgresql"


def _phone_digits(text: str) -> str:
    """The digits of `text` if it reads as (part of) a phone number, else ""."""
    digits = re.sub(r"\D", "", text)
    return digits if PHONE_TEXT.match(text) and len(digits) >= PHONE_MIN_DIGITS else ""


def _filled(field: str, lookup: str, value: str) -> Q:
    """`field <lookup> value` on rows where the field is filled: the same condition as the
    partial index on it, so that PostgreSQL may use that index."""
    return Q(**{f"{field}__{lookup}": value}) & ~Q(**{field: ""})


def _words_match(text: str, fields: tuple[str, ...]) -> Q:
    """The plain search: every word is part of one of `fields`."""
    every_word = Q()
    for word in text.split()[:MAX_WORDS]:
        any_field = Q()
        for name in fields:
            any_field |= Q(**{f"{name}__icontains": word})
        every_word &= any_field
    return every_word


def _ranked(queryset: QuerySet, text: str, *, vector: SearchVector, config: str, name, extra: Q) -> QuerySet:
    """The PostgreSQL search over one model: the words of `vector`, the trigrams and the
    substrings of `name` (an upper-cased expression, as indexed), or `extra` (more substrings)."""
    query = SearchQuery(text, config=config, search_type="websearch")
    queryset = queryset.annotate(_search_words=vector, _search_name=name)
    matches = Q(_search_words=query) | Q(_search_name__contains=text.upper()) | extra
    similarity = Value(0.0, output_field=FloatField())
    if len(text) >= TRIGRAM_MIN_LENGTH:
        matches |= Q(_search_name__trigram_similar=text) | Q(_search_name__trigram_word_similar=text)
        similarity = TrigramWordSimilarity(text, name)
    return queryset.filter(matches).annotate(search_rank=SearchRank(vector, query) + similarity)


def deals(user, text: str) -> QuerySet:
    """The deals `user` may see whose name matches `text`, best first."""
    visible = Opportunity.objects.for_user(user).select_related("account", "stage", "owner")
    if not text:
        return visible.none()
    if not _postgres(visible):
        return visible.filter(_words_match(text, ("name",))).order_by("name", "id")
    found = _ranked(
        visible, text, vector=SearchVector("name", config="english"), config="english", name=Upper("name"), extra=Q()
    )
    return found.order_by(F("search_rank").desc(), "name", "id")


def accounts(user, text: str) -> QuerySet:
    """The accounts `user` may see whose name or website matches `text`, best first."""
    visible = Account.objects.for_user(user).select_related("owner")
    if not text:
        return visible.none()
    if not _postgres(visible):
        return visible.filter(_words_match(text, ("name", "website"))).order_by("name", "id")
    found = _ranked(
        visible,
        text,
        vector=SearchVector("name", config="english"),
        config="english",
        name=Upper("name"),
        extra=_filled("website", "icontains", text),
    )
    return found.order_by(F("search_rank").desc(), "name", "id")


def contacts(user, text: str) -> QuerySet:
    """The contacts `user` may see whose name, email or phone number matches `text`, best first."""
    visible = Contact.objects.for_user(user).select_related("account")
    if not text:
        return visible.none()
    digits = _phone_digits(text)
    by_phone = Q()
    if digits:
        visible = visible.annotate(_digits=digits_only("phone"))
        by_phone = Q(_digits__contains=digits) & ~Q(phone="")
    if not _postgres(visible):
        found = visible.filter(_words_match(text, ("first_name", "last_name", "email", "phone")) | by_phone)
        return found.order_by("last_name", "first_name", "id")
    extra = _filled("email", "icontains", text)
    if digits:
        extra |= by_phone
    found = _ranked(
        visible,
        text,
        # People's names are not English words: no stemming ("Hayes" is not "Hay").
        vector=SearchVector("first_name", "last_name", config="simple"),
        config="simple",
        name=Upper(Concat("first_name", Value(" "), "last_name")),
        extra=extra,
    )
    return found.order_by(F("search_rank").desc(), "last_name", "first_name", "id")


FINDERS = {"deals": deals, "accounts": accounts, "contacts": contacts}


@dataclass(frozen=True)
class SearchResults:
    """What `search` found: one page of each kind asked for (`kind=None`: all three)."""

    text: str
    pages: dict[str, Page]

    @property
    def total(self) -> int:
        return sum(page.paginator.count for page in self.pages.values())


def search(user, text: str, *, kind: str | None = None, page: int | str | None = 1, per_page: int = 5) -> SearchResults:
    """Search what `user` may see for `text` (already cleaned of control characters by the
    caller; cut to MAX_LENGTH here). Two queries per kind: the count and the page."""
    text = " ".join(text.split())[:MAX_LENGTH].strip()
    kinds = [kind] if kind in FINDERS else list(KINDS)
    pages = {name: Paginator(FINDERS[name](user, text), per_page).get_page(page) for name in kinds}
    return SearchResults(text=text, pages=pages)
