"""What the load test reads from Lockstep's pages, as a browser would: links to deals, and the
forms with their hidden fields (CSRF token, the deal's version). Apart from the locustfile so that
tests/test_loadtest.py can check it against the real templates without importing locust.
"""

import re
from html.parser import HTMLParser

DEAL_LINK = re.compile(r'href="(/deals/(\d+)/)"')


class Forms(HTMLParser):
    """The forms of a page: action → {field: value}, with a <select>'s selected option."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._in_form = False
        self._select: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "get").lower() == "post":
            self.forms.append((attributes.get("action") or "", {}))
            self._in_form = True
        elif not self._in_form:
            return
        elif tag == "input" and attributes.get("name") and attributes.get("type") not in ("checkbox", "radio"):
            self.forms[-1][1].setdefault(attributes["name"], attributes.get("value") or "")
        elif tag == "select":
            self._select = attributes.get("name")
        elif tag == "option" and self._select:
            fields = self.forms[-1][1]
            if "selected" in attributes or self._select not in fields:
                fields[self._select] = attributes.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._in_form = False

    def matching(self, pattern: str) -> list[tuple[str, dict[str, str]]]:
        return [(action, fields) for action, fields in self.forms if re.search(pattern, action)]
