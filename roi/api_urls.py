from django.urls import path

from . import api

app_name = "roi_api"

urlpatterns = [
    path("opportunities/<int:pk>/roi/", api.DealRoiApi.as_view(), name="deal_roi"),
]
