from django.urls import path

from . import api

app_name = "postmortem_api"

urlpatterns = [
    path("reviews/", api.ReviewListApi.as_view(), name="review_list"),
    path("reviews/<int:pk>/", api.ReviewDetailApi.as_view(), name="review_detail"),
    path("reviews/<int:pk>/submit/", api.ReviewSubmitApi.as_view(), name="review_submit"),
    path("reviews/<int:pk>/request-changes/", api.ReviewRequestChangesApi.as_view(), name="review_request_changes"),
    path("reviews/<int:pk>/accept/", api.ReviewAcceptApi.as_view(), name="review_accept"),
    path("reviews/<int:pk>/close/", api.ReviewCloseApi.as_view(), name="review_close"),
    path("opportunities/<int:pk>/lessons/", api.DealLessonsApi.as_view(), name="deal_lessons"),
]
