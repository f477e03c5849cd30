from django.urls import path

from . import views as api

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
    path("processes/<int:pk>/stages/", api.ProcessStageListApi.as_view(), name="process_stages"),
    path("processes/<int:pk>/stage-order/", api.ProcessStageOrderApi.as_view(), name="process_stage_order"),
    path("stages/<int:pk>/", api.StageDetailApi.as_view(), name="stage_detail"),
    path("stages/<int:pk>/milestone-order/", api.StageMilestoneOrderApi.as_view(), name="stage_milestone_order"),
    path("stages/<int:pk>/milestones/", api.StageMilestoneListApi.as_view(), name="stage_milestones"),
    path(
        "stages/<int:pk>/milestones/<int:milestone_id>/",
        api.StageMilestoneDetailApi.as_view(),
        name="stage_milestone_detail",
    ),
]
