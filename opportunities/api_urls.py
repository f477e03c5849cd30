from django.urls import path

from . import api

app_name = "api"

urlpatterns = [
    path("opportunities/", api.OpportunityListApi.as_view(), name="opportunity_list"),
    path("opportunities/<int:pk>/", api.OpportunityDetailApi.as_view(), name="opportunity_detail"),
]
