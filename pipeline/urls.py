from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from people import views as people_views

from .board import views as views_board
from .health import views
from .reports import changes_views as views_changes
from .reports import views as views_dashboard

# Pipeline pages, namespaced "pipeline:".
pipeline_patterns = [
    path("attention/", views.needs_attention, name="needs_attention"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("dashboard/", views_dashboard.dashboard, name="dashboard"),
    path("quotas/", views_dashboard.quotas, name="quotas"),
    path("quotas/<int:user_id>/", views_dashboard.quota_set, name="quota_set"),
    path("changes/", views_changes.pipeline_changes_view, name="changes"),
]

# The kanban board, namespaced "board:".
board_patterns = [
    path("", views_board.board, name="index"),
    path("move/", views_board.board_move, name="move"),
    path("<int:process_id>/", views_board.board, name="process"),
    path("<int:process_id>/stages/<int:stage_id>/", views_board.board_column, name="column"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", people_views.login_view, name="login"),
    path("logout/", people_views.logout_view, name="logout"),
    path("health/", views.health, name="health"),
    # The admin signs in through the same throttled form as everyone else.
    path("admin/login/", people_views.login_view),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/", include("opportunities.api_urls")),
    path("board/", include((board_patterns, "board"))),
    path("", include("opportunities.urls")),
    path("", include((pipeline_patterns, "pipeline"))),
]
