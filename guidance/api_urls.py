from django.urls import path

from . import api

app_name = "guidance_api"

urlpatterns = [
    path("opportunities/<int:pk>/signals/", api.DealSignalsApi.as_view(), name="deal_signals"),
    path("opportunities/<int:pk>/qualification/", api.QualificationTickApi.as_view(), name="qualification_tick"),
    path("focus/", api.FocusApi.as_view(), name="focus"),
]
