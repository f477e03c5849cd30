from django.conf import settings
from django.core.exceptions import PermissionDenied


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
