"""The project's URLs plus views that fail on purpose, for the error-page tests only."""

from django.core.exceptions import BadRequest
from django.urls import path

from pipeline.urls import urlpatterns as project_urlpatterns


def crash(request):
    raise RuntimeError("secret-internal-detail")


def refuse(request):
    raise BadRequest("bad input")


urlpatterns = [
    path("__test__/crash/", crash),
    path("__test__/bad-request/", refuse),
    *project_urlpatterns,
]
