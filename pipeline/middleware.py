from django.conf import settings
from django.core import signals
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.core.handlers.exception import get_exception_response
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.urls import get_resolver, get_urlconf
from django.utils.log import log_response


class ContentSecurityPolicyMiddleware:
    """Send the Content-Security-Policy header (Django 5.2 has no built-in support)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class AdminForStaffOnlyMiddleware:
    """A signed-in user who is not active staff gets 403 from the admin site.

    The admin sends such a user to its login page, and the login page (ours, the throttled one)
    sends a signed-in user back where they came from: an endless redirect. Refusing them plainly
    breaks the loop; anonymous visitors still go to the login page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        user = request.user
        if match and match.namespace == "admin" and user.is_authenticated and not (user.is_active and user.is_staff):
            raise PermissionDenied("Your account has no access to the admin site.")
        return None


def _is_staff(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


class TechnicalErrorPagesOnlyForStaffMiddleware:
    """With DEBUG on, Django answers errors with its technical pages: the 404 lists every URL
    pattern, the 500 shows the traceback, local variables and settings. Only signed-in staff get
    them; everyone else gets the branded pages production serves (templates/400.html, 404.html,
    500.html; 403 is branded either way). Without DEBUG it does nothing.

    It must come after AuthenticationMiddleware, and after CommonMiddleware so that a branded 404
    still gets the redirect to the address with a slash.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # No URL matched (no view ran, so process_exception did not either): Django has already
        # rendered the technical 404 with the URL list; replace it.
        if settings.DEBUG and response.status_code == 404 and request.resolver_match is None and not _is_staff(request):
            return self._branded(request, 404, Http404())
        return response

    def process_exception(self, request, exception):
        if not settings.DEBUG or _is_staff(request) or isinstance(exception, PermissionDenied):
            return None
        if isinstance(exception, Http404):
            return self._branded(request, 404, exception)
        if isinstance(exception, BadRequest | SuspiciousOperation | MultiPartParserError):
            return self._branded(request, 400, exception)
        # What Django does for an unhandled exception without DEBUG: tell the listeners (the test
        # client, error trackers), answer with handler500, log it with its traceback.
        signals.got_request_exception.send(sender=None, request=request)
        return self._branded(request, 500, exception)

    @staticmethod
    def _branded(request, status: int, exception: Exception):
        resolver = get_resolver(get_urlconf())
        if status == 500:
            # handler500 takes no exception argument (get_exception_response would pass one).
            response = resolver.resolve_error_handler(500)(request)
        else:
            response = get_exception_response(request, resolver, status, exception)
        log_response(
            "%s: %s", response.reason_phrase, request.path, response=response, request=request, exception=exception
        )
        return response
