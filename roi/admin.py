from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from stages.admin import LabelledRowsFormSet

from . import formula as formulas
from .models import Calculator, CalculatorInput


class InputFormSet(LabelledRowsFormSet, BaseInlineFormSet):
    """The inputs and the calculator's formula are checked together: the formula may name only
    the inputs that remain once this save is done (a syntax error, an unknown name, a forbidden
    construct is refused with its reason, and nothing is saved)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        names = [
            form.cleaned_data["name"]
            for form in self.forms
            if form.cleaned_data.get("name") and not form.cleaned_data.get("DELETE")
        ]
        clashes = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(formulas._FUNCTIONS)))
        if clashes:
            raise ValidationError(f"Input names must be unique and not a function's name: {', '.join(clashes)}.")
        try:
            formulas.parse(self.instance.formula, names)
        except formulas.FormulaError as exc:
            raise ValidationError(f"Formula: {exc.message}") from None


class CalculatorForm(forms.ModelForm):
    class Meta:
        model = Calculator
        fields = ("process", "name", "description", "formula", "result_label", "result_unit", "is_active")

    def clean_formula(self):
        text = self.cleaned_data["formula"].strip()
        if len(text) > formulas.MAX_LENGTH:
            raise ValidationError(f"The formula is longer than {formulas.MAX_LENGTH} characters.")
        return text


class CalculatorInputInline(admin.TabularInline):
    model = CalculatorInput
    formset = InputFormSet
    fields = ("order", "name", "label", "unit", "default")
    extra = 0
    ordering = ("order", "id")


@admin.register(Calculator)
class CalculatorAdmin(admin.ModelAdmin):
    form = CalculatorForm
    list_display = ("name", "process", "result_label", "is_active")
    list_filter = ("is_active",)
    inlines = [CalculatorInputInline]
