"""Index types the search needs (`opportunities.search`).

The search's GIN indexes (trigrams of names, emails, phones; full-text vectors of names) exist
only on PostgreSQL, where `pg_trgm` and `to_tsvector` do. The same code runs on SQLite, and the
models' indexes must exist on both (tests/opportunities/test_indexes.py), so on any other database
`SearchIndex` makes a plain index of the same name on the same columns instead: harmless, and it
keeps Django's state and the schema in agreement everywhere.
"""

from django.contrib.postgres.indexes import GinIndex
from django.db.models import F, Index, Value
from django.db.models.functions import Replace


def _columns(expression) -> list[str]:
    """The field names an index expression reads, in order, once each."""
    names: list[str] = []
    for node in expression.flatten():
        if isinstance(node, F) and node.name not in names:
            names.append(node.name)
    return names


class SearchIndex(GinIndex):
    """A GIN index on PostgreSQL; a b-tree on the same columns (same name, same condition)
    elsewhere."""

    def _fallback(self) -> Index:
        fields = [name for expression in self.expressions for name in _columns(expression)]
        return Index(fields=fields or list(self.fields), name=self.name, condition=self.condition)

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor == "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        return self._fallback().create_sql(model, schema_editor, **kwargs)


# Separators people type in phone numbers; a number matches on its digits alone, however
# either side spells it ("+1 (555) 010-1234" and "555 0101234").
PHONE_SEPARATORS = (" ", "-", ".", "(", ")", "+", "/")


def digits_only(field: str):
    """`field` with the phone separators taken out, as a database expression (indexed on
    `Contact.phone`, so the search's LIKE on it reads the index on PostgreSQL)."""
    expression = F(field)
    for separator in PHONE_SEPARATORS:
        expression = Replace(expression, Value(separator), Value(""))
    return expression
