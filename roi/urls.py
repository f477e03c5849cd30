from django.urls import path

from . import views

app_name = "roi"

urlpatterns = [
    path("deals/<int:pk>/roi/", views.deal_roi_save, name="save"),
    path("deals/<int:pk>/roi/<int:result_pk>/", views.deal_roi_summary, name="summary"),
    path("deals/<int:pk>/roi/<int:result_pk>/share/", views.deal_roi_share, name="share"),
]
