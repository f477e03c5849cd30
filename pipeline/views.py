"""Project-level views: liveness for load balancers, and the home page."""

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods


@login_not_required
@require_http_methods(["GET", "HEAD"])
def health(request):
    """Liveness for load balancers and compose health checks: the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


@require_http_methods(["GET"])
def home(request):
    return redirect("opportunities:my_deals")
