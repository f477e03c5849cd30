"""Serializer fields for the API's input, holding the same rules as the forms' fields in
`stages.cleaning`: ids that fit a query, names without invisible characters."""

from rest_framework import serializers

from stages.cleaning import INT_MAX, clean_text, parse_pk


class PkField(serializers.PrimaryKeyRelatedField):
    """A PrimaryKeyRelatedField that refuses what cannot be an id (`1e999` is inf in JSON, and a
    30-digit number overflows the database driver) before it queries."""

    def to_internal_value(self, data):
        if parse_pk(data) is None:
            if isinstance(data, int | float) and not isinstance(data, bool):
                self.fail("does_not_exist", pk_value=data)
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class IdField(serializers.IntegerField):
    """An id or a version number: 1 to the largest integer the database holds."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", INT_MAX)
        super().__init__(**kwargs)


class NameField(serializers.CharField):
    """A CharField for names and titles: invisible characters are dropped before the length
    and blank checks (see `stages.cleaning.clean_text`)."""

    def to_internal_value(self, data):
        return clean_text(super().to_internal_value(data))

    def run_validation(self, data=serializers.empty):
        # CharField refuses blank input before `to_internal_value`; a name of only invisible
        # characters must be refused the same way.
        if isinstance(data, str) and not self.allow_blank and data and not clean_text(data):
            self.fail("blank")
        return super().run_validation(data)
