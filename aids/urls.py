from django.urls import path

from . import views

app_name = "aids"

urlpatterns = [
    path("", views.aid_list, name="list"),
    path("new/", views.aid_create, name="create"),
    path("<int:pk>/", views.aid_detail, name="detail"),
    path("<int:pk>/edit/", views.aid_edit, name="edit"),
    path("<int:pk>/versions/new/", views.aid_new_version, name="new_version"),
    path("<int:pk>/publish/", views.aid_publish, name="publish"),
    path("<int:pk>/retire/", views.aid_retire, name="retire"),
    path("files/<int:pk>/", views.aid_file, name="file"),
    path("deals/<int:pk>/share/", views.deal_share, name="share"),
    path("deals/<int:pk>/matrix/", views.deal_matrix, name="matrix"),
    path("playbooks/", views.playbook_list, name="playbooks"),
    path("playbooks/<int:milestone_pk>/", views.playbook_edit, name="playbook_edit"),
    path("use/", views.usage_page, name="usage"),
]
