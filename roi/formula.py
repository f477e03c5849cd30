"""The ROI calculators' formulas: safe arithmetic over named inputs, never Python's `eval`.

A formula is parsed with `ast` and only a whitelist of nodes is accepted: numbers, the names of
the calculator's inputs, + - * / % ** , unary minus and plus, parentheses and the functions
min, max, round and abs. Anything else (attributes, calls of other names, subscripts, lambdas,
comparisons, strings) is refused when the admin saves the formula, naming what is wrong. The
evaluator walks the same tree with floats, so integers can never grow without bound, and bounds
every exponent and every intermediate value: an "exponent bomb" is refused, not computed.
"""

import ast
import math
import operator
from collections.abc import Iterable, Mapping

from opportunities.errors import DomainError

MAX_LENGTH = 500
MAX_NODES = 200
MAX_EXPONENT = 100
# Beyond this a result is not a business figure but a mistake; it also keeps every value well
# inside a float's exact-integer range, so the two-decimal result is meaningful.
MAX_MAGNITUDE = 1e15

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS = {"min": min, "max": max, "round": round, "abs": abs}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%", ast.Pow: "**"}


class FormulaError(DomainError):
    """A formula that cannot be parsed or evaluated; the message says where or why."""


def _describe(node: ast.AST) -> str:
    return {
        ast.Attribute: "attribute access (a.b)",
        ast.Subscript: "indexing (a[b])",
        ast.Compare: "comparisons",
        ast.BoolOp: "and/or",
        ast.Lambda: "lambda",
        ast.IfExp: "if/else",
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.BitXor: "^",
        ast.LShift: "<<",
        ast.RShift: ">>",
        ast.FloorDiv: "//",
        ast.MatMult: "@",
        ast.Invert: "~",
        ast.Not: "not",
    }.get(type(node), type(node).__name__)


def parse(formula: str, names: Iterable[str]) -> ast.Expression:
    """The checked syntax tree of `formula` over the input `names`, or FormulaError saying what
    is wrong (a syntax error and its column, an unknown name, a construct that is not allowed)."""
    text = (formula or "").strip()
    if not text:
        raise FormulaError("The formula is empty.", field="formula")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"The formula is longer than {MAX_LENGTH} characters.", field="formula")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise FormulaError(f"The formula has a syntax error{where}: {exc.msg}.", field="formula") from None
    except (RecursionError, MemoryError, ValueError):
        raise FormulaError("The formula is nested too deeply.", field="formula") from None
    known = set(names)
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise FormulaError(f"The formula has more than {MAX_NODES} parts; simplify it.", field="formula")
    # The function names of calls are checked with their call, not as inputs.
    callees = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    for node in nodes:
        if id(node) not in callees:
            _check(node, known)
    return tree


def _check(node: ast.AST, known: set[str]) -> None:
    if isinstance(node, ast.Expression | ast.Load) or type(node) in _BINARY or type(node) in _UNARY:
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise FormulaError(f"“{_describe(node.op)}” is not allowed in a formula.", field="formula")
        return
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise FormulaError(f"“{_describe(node.op)}” is not allowed in a formula.", field="formula")
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise FormulaError(f"Only numbers are allowed, not {node.value!r}.", field="formula")
        if not math.isfinite(float(node.value)) or abs(node.value) > MAX_MAGNITUDE:
            raise FormulaError(f"The number {node.value!r} is too large.", field="formula")
        return
    if isinstance(node, ast.Name):
        if node.id not in known:
            listed = ", ".join(sorted(known)) or "none yet"
            raise FormulaError(f"Unknown name “{node.id}” (the inputs are: {listed}).", field="formula")
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords or not node.args:
            raise FormulaError(
                f"Only the functions {', '.join(sorted(_FUNCTIONS))} may be called, with values in brackets.",
                field="formula",
            )
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise FormulaError("“*” arguments are not allowed in a formula.", field="formula")
        return
    raise FormulaError(f"“{_describe(node)}” is not allowed in a formula.", field="formula")


def _bounded(value: float) -> float:
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise FormulaError("The result is too large to be a sensible figure.")
    return value


def _eval(node: ast.AST, values: Mapping[str, float]) -> float:
    if isinstance(node, ast.Expression):
        return _eval(node.body, values)
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, values))
    if isinstance(node, ast.Call):
        args = [_eval(arg, values) for arg in node.args]
        name = node.func.id
        if name == "round":
            if len(args) > 2:
                raise FormulaError("round takes a value and, optionally, a number of decimals.")
            digits = int(args[1]) if len(args) == 2 else 0
            return float(round(args[0], max(-15, min(15, digits))))
        if name == "abs":
            if len(args) != 1:
                raise FormulaError("abs takes one value.")
            return abs(args[0])
        return float(_FUNCTIONS[name](args))
    left = _eval(node.left, values)
    right = _eval(node.right, values)
    op = type(node.op)
    if op in (ast.Div, ast.Mod) and right == 0:
        raise FormulaError(f"Division by zero: “{ast.unparse(node.right)}” is 0.")
    if op is ast.Pow:
        if abs(right) > MAX_EXPONENT:
            raise FormulaError(f"Exponents are limited to ±{MAX_EXPONENT}.")
        if left == 0 and right < 0:
            raise FormulaError("Division by zero: zero raised to a negative power.")
        if left < 0 and not right.is_integer():
            raise FormulaError("A negative number raised to a fractional power is not a real number.")
    try:
        return _bounded(_BINARY[op](left, right))
    except OverflowError:
        raise FormulaError("The result is too large to be a sensible figure.") from None


def evaluate(tree: ast.Expression, values: Mapping[str, float]) -> float:
    """The value of a parsed formula for `values` (every input name → a number), or
    FormulaError (division by zero, a result out of bounds)."""
    return _bounded(_eval(tree, {name: float(value) for name, value in values.items()}))


def compute(formula: str, values: Mapping[str, float]) -> float:
    """Parse and evaluate in one: what the deal's calculator does on every save."""
    return evaluate(parse(formula, values.keys()), values)
