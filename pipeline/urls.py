from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("health/", views.health, name="health"),
    # The admin signs in through the same throttled form as everyone else.
    path("admin/login/", views.login_view),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/", include("opportunities.api_urls")),
    path("", include("opportunities.urls")),
]
