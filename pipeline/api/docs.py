"""The API's documentation pages: Swagger UI and Redoc, from the copies in static/vendor/ (no
CDN), for signed-in users (the login-required middleware)."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

# Both renderers set inline styles (Redoc through styled-components' <style> tags, Swagger UI
# on elements) and Redoc's search runs in a blob: worker; only these two pages allow that.
DOCS_CSP = settings.CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") + (
    "; worker-src 'self' blob:"
)


def _docs(request, template: str):
    response = render(request, template)
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@require_GET
def swagger(request):
    return _docs(request, "api/swagger.html")


@require_GET
def redoc(request):
    return _docs(request, "api/redoc.html")
