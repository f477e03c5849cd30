from django.urls import path

from . import api

app_name = "aids_api"

urlpatterns = [
    path("aids/", api.AidListApi.as_view(), name="aid_list"),
    path("aids/<int:pk>/", api.AidDetailApi.as_view(), name="aid_detail"),
    path("opportunities/<int:pk>/aid-shares/", api.DealSharesApi.as_view(), name="deal_shares"),
]
