"""The ROI formula language: arithmetic over named inputs, never Python's eval."""

import ast
import builtins
import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roi.formula import MAX_MAGNITUDE, FormulaError, compute, parse

NAMES = ("seats", "price", "hours")


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("seats * price", 250.0),
        ("seats * price - hours / 4", 248.0),
        ("(seats + 5) * 2", 30.0),
        ("-seats + +price", 15.0),
        ("seats ** 2", 100.0),
        ("price % 3", 1.0),
        ("min(seats, price, hours)", 8.0),
        ("max(seats, 100)", 100.0),
        ("round(price / 3, 2)", 8.33),
        ("abs(hours - seats)", 2.0),
        ("1.5e3 + 1_000", 2500.0),
    ],
)
def test_valid_formulas_compute(formula, expected):
    assert compute(formula, {"seats": 10, "price": 25, "hours": 8}) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("", "empty"),
        ("seats *", "syntax error"),
        ("seats * discount", "Unknown name “discount” (the inputs are: hours, price, seats)"),
        ("__import__('os').system('true')", "Only the functions"),
        ("seats.real", "attribute access"),
        ("(1).__class__", "attribute access"),
        ("seats[0]", "indexing"),
        ("'a' * 3", "Only numbers"),
        ("seats if price else hours", "if/else"),
        ("seats > price", "comparisons"),
        ("lambda: 1", "lambda"),
        ("seats // 2", "“//” is not allowed"),
        ("seats ^ 2", "“^” is not allowed"),
        ("True + 1", "Only numbers"),
        ("min(*seats)", "“*” arguments"),
        ("round(seats, ndigits=2)", "Only the functions"),
        ("open('x')", "Only the functions"),
        ("1e999", "too large"),
        ("x = 1", "syntax error"),
        ("seats; price", "syntax error"),
        ("+" * 600 + "1", "longer than"),
        ("(" * 240 + "1" + ")" * 240, "syntax error"),
    ],
)
def test_invalid_formulas_are_refused_saying_why(formula, message):
    with pytest.raises(FormulaError) as refused:
        parse(formula, NAMES)
    assert message.lower() in refused.value.message.lower()


def test_too_many_parts_is_refused():
    with pytest.raises(FormulaError, match="more than"):
        parse("seats+" * 80 + "1", NAMES)


@pytest.mark.parametrize("formula", ["seats / price", "seats % price", "price ** -1", "seats / (price - price)"])
def test_division_by_zero_is_a_clear_refusal(formula):
    with pytest.raises(FormulaError, match="Division by zero"):
        compute(formula, {"seats": 3, "price": 0})


@pytest.mark.parametrize(
    "formula",
    [
        "9 ** 9 ** 9",
        "seats ** 1000",
        "10 ** 100",
        "999999999999999 * 999999999999999",
        "2 ** 99 * 2 ** 99",
        "(-8) ** 0.5",
    ],
)
def test_huge_numbers_and_exponent_bombs_are_bounded(formula):
    with pytest.raises(FormulaError):
        compute(formula, {"seats": 10})


def test_the_result_stays_within_bounds():
    assert compute("seats * 1000000", {"seats": 1000}) == 1e9
    with pytest.raises(FormulaError, match="too large"):
        compute("seats * seats * seats", {"seats": MAX_MAGNITUDE})


ALPHABET = st.sampled_from(list("0123456789+-*/%() .,_eE") + ["seats", "price", "**", "min", "max", "x", "__"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ALPHABET, max_size=30).map("".join))
def test_random_token_soup_only_ever_computes_or_refuses(text):
    """Whatever is typed, the answer is a bounded number or a FormulaError: never another
    exception, never code run."""
    try:
        value = compute(text, {"seats": 3, "price": 7})
    except FormulaError:
        return
    assert abs(value) <= MAX_MAGNITUDE


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_never_executes(text):
    """Nothing typed is ever run: eval and exec are never called, and compile only ever builds
    a syntax tree (ast.parse), never code."""
    run = []
    real_compile = builtins.compile

    def only_trees(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            run.append(source)
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    saved = builtins.eval, builtins.exec, builtins.compile
    builtins.eval = builtins.exec = lambda *a, **k: run.append(a)
    builtins.compile = only_trees
    try:
        with contextlib.suppress(FormulaError):
            compute(text, {"seats": 3})
    finally:
        builtins.eval, builtins.exec, builtins.compile = saved
    assert run == []
