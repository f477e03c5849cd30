"""The API's JSON parser: DRF's, refusing bodies nested too deeply with a 400.

Python's JSON decoder recurses once per level: a body of a few thousand `[` raises RecursionError
inside the parser, which DRF does not expect (a 500). Nothing the API takes is nested more than
a couple of levels, so anything deeper than `MAX_DEPTH` is refused, whether the decoder overflowed
or not. This module imports nothing from the project: settings name it, and DRF imports it while
`rest_framework.views` is still being imported.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 20
TOO_DEEP = f"The JSON body is nested too deeply: at most {MAX_DEPTH} levels of lists and objects."


def depth(data) -> int:
    """How many levels of lists and objects `data` has, without recursing."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if depth(data) > MAX_DEPTH:
            raise ParseError(TOO_DEEP)
        return data
