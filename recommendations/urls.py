from django.urls import path

from . import views

app_name = "recommendations"

urlpatterns = [
    path("", views.recommendation_stats, name="stats"),
    path("deals/<int:pk>/accept/", views.deal_accept, name="accept"),
    path("deals/<int:pk>/dismiss/", views.deal_dismiss, name="dismiss"),
]
