"""Real Chromium through Playwright's sync API, for tests marked `browser`.

Playwright and Chromium are launched once for this package (every browser test lives here and
pytest runs them together); every test gets a fresh context (own cookies, own storage), so
signing in as one user never leaks into another test. `new_context()` opens more contexts
inside one test, e.g. to act as a second user.

There is deliberately no skip: a missing Chromium or Playwright fails the test run.
"""

import os
import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Generous for a loaded CI machine; a passing run never waits this long.
TIMEOUT_MS = 10_000


@pytest.fixture(scope="package")
def browser():
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium); it is missing. "
            "Do not run `playwright install`: these tests launch the system Chromium.",
            pytrace=False,
        )
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError as exc:
        pytest.fail(f"Browser tests need the playwright package in the venv: {exc}", pytrace=False)

    # Playwright's sync API keeps an asyncio event loop running in the main thread for as long as
    # it runs, so Django's ORM in the test thread (fixtures, assertions, transactional_db's flush)
    # would raise SynchronousOnlyOperation. The ORM is never called from inside that loop; this
    # only silences the guard. Package scope, not session scope, so that both the loop and the
    # variable end with the browser tests: left set, the variable would switch the guard off for
    # every later test and leak into subprocesses (`check --deploy` then fails on async.E001).
    expect.set_options(timeout=TIMEOUT_MS)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            try:
                chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            except Exception as exc:
                pytest.fail(f"Could not launch Chromium at {CHROMIUM}: {exc}", pytrace=False)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class InFlight:
    """The live server's application, counting the requests it is still answering.

    A page may still be loading something when its test ends (a lazy panel fired on load, a click
    the test did not wait for). That request runs in a live-server thread which closing the
    browser does not stop; left running, it meets the flush that empties the tables after the test
    (a deadlock on PostgreSQL, rows gone half-way through a page) and fails the next test. So each
    test waits until no request is in flight before its tables are emptied.
    """

    def __init__(self, app):
        self.app = app
        self.busy = 0
        self.quiet = threading.Condition()

    def __call__(self, environ, start_response):
        with self.quiet:
            self.busy += 1
        try:
            # Read the whole body and close the response here, so that everything the request does
            # (closing its database connection included) is over before it counts as done.
            response = self.app(environ, start_response)
            try:
                return list(response)
            finally:
                if hasattr(response, "close"):
                    response.close()
        finally:
            with self.quiet:
                self.busy -= 1
                self.quiet.notify_all()

    def wait(self, timeout):
        with self.quiet:
            self.quiet.wait_for(lambda: self.busy == 0, timeout=timeout)


@pytest.fixture
def new_context(browser, live_server):
    """`new_context()`: a fresh browser context whose relative URLs resolve against the live server."""
    httpd = live_server.thread.httpd
    if not isinstance(httpd.get_app(), InFlight):
        httpd.set_app(InFlight(httpd.get_app()))
    in_flight = httpd.get_app()
    contexts = []

    def make():
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    in_flight.wait(timeout=TIMEOUT_MS / 1000)


@pytest.fixture
def page(new_context):
    return new_context().new_page()
