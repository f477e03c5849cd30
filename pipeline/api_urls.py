from django.urls import path

from . import api

app_name = "pipeline_api"

urlpatterns = [
    path("flags/", api.FlagListApi.as_view(), name="flag_list"),
    path("notifications/", api.NotificationListApi.as_view(), name="notification_list"),
    path("notifications/read-all/", api.NotificationReadAllApi.as_view(), name="notification_read_all"),
    path("notifications/<int:pk>/read/", api.NotificationReadApi.as_view(), name="notification_read"),
    path("quotas/", api.QuotaListApi.as_view(), name="quota_list"),
    path("quotas/<int:user_id>/", api.QuotaSetApi.as_view(), name="quota_set"),
    path("processes/", api.ProcessListApi.as_view(), name="process_list"),
    path("processes/<int:pk>/", api.ProcessDetailApi.as_view(), name="process_detail"),
]
