from django.urls import path

from . import views

app_name = "postmortem"

urlpatterns = [
    path("reviews/", views.review_queue, name="queue"),
    path("reviews/<int:pk>/", views.review_detail, name="review"),
    path("reviews/<int:pk>/decide/", views.review_decide, name="review_decide"),
    path("reviews/<int:pk>/close/", views.review_close, name="review_close"),
    path("lessons/", views.lesson_list, name="lessons"),
    path("lessons/<int:pk>/endorse/", views.lesson_endorse, name="lesson_endorse"),
    path("lessons/<int:pk>/retire/", views.lesson_retire, name="lesson_retire"),
    path("win-loss/", views.winloss_page, name="winloss"),
    path("win-loss/deals/", views.winloss_deals, name="winloss_deals"),
]
