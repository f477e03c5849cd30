from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from people import views as people_views

from . import views
from .api import docs as api_docs
from .board import views as board_views
from .health import views as health_views
from .notify import views as notify_views
from .reports import changes_views
from .reports import views as reports_views

# Pipeline pages, namespaced "pipeline:".
pipeline_patterns = [
    path("attention/", health_views.needs_attention, name="needs_attention"),
    path("notifications/", notify_views.notifications, name="notifications"),
    path("notifications/<int:pk>/read/", notify_views.notification_read, name="notification_read"),
    path("notifications/read-all/", notify_views.notifications_read_all, name="notifications_read_all"),
    path("dashboard/", reports_views.dashboard, name="dashboard"),
    path("quotas/", reports_views.quotas, name="quotas"),
    path("quotas/<int:user_id>/", reports_views.quota_set, name="quota_set"),
    path("changes/", changes_views.pipeline_changes_view, name="changes"),
]

# The kanban board, namespaced "board:".
board_patterns = [
    path("", board_views.board, name="index"),
    path("move/", board_views.board_move, name="move"),
    path("<int:process_id>/", board_views.board, name="process"),
    path("<int:process_id>/stages/<int:stage_id>/", board_views.board_column, name="column"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", people_views.login_view, name="login"),
    path("logout/", people_views.logout_view, name="logout"),
    path("health/", views.health, name="health"),
    path("profile/", people_views.profile, name="profile"),
    path("profile/tokens/", people_views.api_token_create, name="api_token_create"),
    path("profile/tokens/<int:pk>/revoke/", people_views.api_token_revoke, name="api_token_revoke"),
    path("profile/password/", people_views.password_change, name="password_change"),
    path("password-reset/", people_views.password_reset, name="password_reset"),
    path("password-reset/sent/", people_views.password_reset_done, name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", people_views.password_reset_confirm, name="password_reset_confirm"),
    path("password-reset/done/", people_views.password_reset_complete, name="password_reset_complete"),
    # The admin signs in, and changes passwords, through the same throttled forms as everyone else.
    path("admin/login/", people_views.login_view),
    path("admin/password_change/", people_views.password_change),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", api_docs.swagger, name="api_docs"),
    path("api/docs/reference/", api_docs.redoc, name="api_redoc"),
    path("api/", include("opportunities.api_urls")),
    path("api/", include("postmortem.api_urls")),
    path("api/", include("transfer.api_urls")),
    path("api/", include("aids.api_urls")),
    path("api/", include("pipeline.api.urls")),
    path("api/", include("roi.api_urls")),
    path("api/", include("recommendations.api_urls")),
    path("api/", include("guidance.api_urls")),
    path("board/", include((board_patterns, "board"))),
    path("", include("opportunities.urls")),
    path("", include("postmortem.urls")),
    path("", include("transfer.urls")),
    path("", include("roi.urls")),
    path("", include("guidance.urls")),
    path("aids/", include("aids.urls")),
    path("recommendations/", include("recommendations.urls")),
    path("processes/", include("pipeline.processes.urls")),
    path("", include((pipeline_patterns, "pipeline"))),
]
