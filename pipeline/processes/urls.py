from django.urls import path

from . import views

app_name = "processes"

urlpatterns = [
    path("", views.process_list, name="list"),
    path("<int:pk>/", views.process_detail, name="detail"),
    path("<int:pk>/stages/", views.stage_add, name="stage_add"),
    path("stages/<int:pk>/edit/", views.stage_edit, name="stage_edit"),
    path("stages/<int:pk>/move/", views.stage_move, name="stage_move"),
    path("stages/<int:pk>/remove/", views.stage_remove, name="stage_remove"),
    path("stages/<int:pk>/milestones/", views.milestone_add, name="milestone_add"),
    path("milestones/<int:pk>/edit/", views.milestone_edit, name="milestone_edit"),
    path("milestones/<int:pk>/move/", views.milestone_move, name="milestone_move"),
    path("milestones/<int:pk>/remove/", views.milestone_remove, name="milestone_remove"),
]
