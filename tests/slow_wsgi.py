"""The project's WSGI application plus one slow path, for the graceful-shutdown test only
(`gunicorn tests.slow_wsgi:application`): production has no such URL.

GET /__test__/slow/?seconds=N touches the file named by LOCKSTEP_TEST_SLOW_STARTED (so the test
knows the request is in flight), sleeps N seconds, then answers 200.
"""

import os
import time
from pathlib import Path
from urllib.parse import parse_qs

from pipeline.wsgi import application as lockstep

SLOW_PATH = "/__test__/slow/"
ANSWER = b"slow request finished"


def application(environ, start_response):
    if environ.get("PATH_INFO") != SLOW_PATH:
        return lockstep(environ, start_response)
    seconds = float(parse_qs(environ.get("QUERY_STRING", "")).get("seconds", ["1"])[0])
    Path(os.environ["LOCKSTEP_TEST_SLOW_STARTED"]).touch()
    time.sleep(seconds)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(ANSWER)))])
    return [ANSWER]
