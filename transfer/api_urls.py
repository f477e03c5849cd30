from django.urls import path

from . import api

app_name = "transfer_api"

urlpatterns = [
    path("imports/", api.ImportListApi.as_view(), name="import_list"),
    path("imports/<int:pk>/", api.ImportDetailApi.as_view(), name="import_detail"),
    path("imports/<int:pk>/commit/", api.ImportCommitApi.as_view(), name="import_commit"),
]
