from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from . import views, views_board

# The kanban board, namespaced "board:".
board_patterns = [
    path("", views_board.board, name="index"),
    path("move/", views_board.board_move, name="move"),
    path("<int:process_id>/", views_board.board, name="process"),
    path("<int:process_id>/stages/<int:stage_id>/", views_board.board_column, name="column"),
]

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
    path("board/", include((board_patterns, "board"))),
    path("", include("opportunities.urls")),
]
