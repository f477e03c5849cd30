from django.urls import path

from . import api

app_name = "recommendations_api"

urlpatterns = [
    path("opportunities/<int:pk>/recommendations/", api.DealRecommendationsApi.as_view(), name="deal_recommendations"),
    path(
        "opportunities/<int:pk>/recommendations/accept/",
        api.RecommendationAcceptApi.as_view(),
        name="recommendation_accept",
    ),
    path(
        "opportunities/<int:pk>/recommendations/dismiss/",
        api.RecommendationDismissApi.as_view(),
        name="recommendation_dismiss",
    ),
]
