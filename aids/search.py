"""Searching the library by title, summary and text.

On PostgreSQL, full-text search (English stemming, `websearch` syntax, ranked: title above
summary above text); elsewhere (SQLite) every word must appear in one of the three, in any case.
"""

from django.db import connection
from django.db.models import Q

MAX_WORDS = 8


def search(aids, q: str):
    q = (q or "").strip()
    if not q:
        return aids
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        vector = (
            SearchVector("title", weight="A", config="english")
            + SearchVector("summary", weight="B", config="english")
            + SearchVector("search_text", weight="C", config="english")
        )
        query = SearchQuery(q, search_type="websearch", config="english")
        return (
            aids.annotate(found=vector, rank=SearchRank(vector, query))
            .filter(found=query)
            .order_by("-rank", "title", "id")
        )
    for word in q.split()[:MAX_WORDS]:
        aids = aids.filter(Q(title__icontains=word) | Q(summary__icontains=word) | Q(search_text__icontains=word))
    return aids
