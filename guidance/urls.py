from django.urls import path

from . import views

app_name = "guidance"

urlpatterns = [
    path("deals/<int:pk>/qualification/", views.qualification_tick, name="tick"),
    path("deals/<int:pk>/signals/", views.deal_signals, name="signals"),
    path("focus/", views.focus, name="focus"),
    path("focus/team/", views.focus_team, name="focus_team"),
    path("focus/model/", views.model_page, name="model"),
    path("focus/model/retrain/", views.model_retrain, name="retrain"),
]
