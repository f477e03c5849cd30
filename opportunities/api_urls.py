from django.urls import path

from . import account_api, api

app_name = "api"

urlpatterns = [
    path("opportunities/", api.OpportunityListApi.as_view(), name="opportunity_list"),
    path("opportunities/bulk/", api.OpportunityBulkApi.as_view(), name="opportunity_bulk"),
    path("opportunities/<int:pk>/", api.OpportunityDetailApi.as_view(), name="opportunity_detail"),
    path("opportunities/<int:pk>/reassign/", api.OpportunityReassignApi.as_view(), name="opportunity_reassign"),
    path("opportunities/<int:pk>/move/", api.OpportunityMoveApi.as_view(), name="opportunity_move"),
    path("opportunities/<int:pk>/close-won/", api.OpportunityCloseWonApi.as_view(), name="opportunity_close_won"),
    path("opportunities/<int:pk>/close-lost/", api.OpportunityCloseLostApi.as_view(), name="opportunity_close_lost"),
    path("opportunities/<int:pk>/reopen/", api.OpportunityReopenApi.as_view(), name="opportunity_reopen"),
    path(
        "opportunities/<int:pk>/milestones/<int:milestone_id>/",
        api.MilestoneApi.as_view(),
        name="opportunity_milestone",
    ),
    path("opportunities/<int:pk>/next-step/", api.NextStepSetApi.as_view(), name="next_step_set"),
    path("opportunities/<int:pk>/next-step/complete/", api.NextStepCompleteApi.as_view(), name="next_step_complete"),
    path("opportunities/<int:pk>/events/", api.OpportunityEventListApi.as_view(), name="opportunity_events"),
    path("opportunities/<int:pk>/activities/", api.OpportunityActivityApi.as_view(), name="opportunity_activities"),
    path(
        "opportunities/<int:pk>/competitors/", api.OpportunityCompetitorsApi.as_view(), name="opportunity_competitors"
    ),
    path("opportunities/<int:pk>/buying-team/", api.OpportunityBuyingTeamApi.as_view(), name="opportunity_buying_team"),
    path("competitors/", api.CompetitorListApi.as_view(), name="competitor_list"),
    path("accounts/", api.AccountListApi.as_view(), name="account_list"),
    path("accounts/<int:pk>/", api.AccountDetailApi.as_view(), name="account_detail"),
    path("accounts/<int:pk>/contacts/", api.ContactListApi.as_view(), name="account_contacts"),
    path("accounts/<int:pk>/events/", api.AccountEventListApi.as_view(), name="account_events"),
    path("accounts/<int:pk>/plan/", account_api.AccountPlanApi.as_view(), name="account_plan"),
    path("accounts/<int:pk>/team/", account_api.AccountTeamApi.as_view(), name="account_team"),
    path(
        "accounts/<int:pk>/team/<int:contact_id>/",
        account_api.AccountTeamMemberApi.as_view(),
        name="account_team_member",
    ),
    path("accounts/<int:pk>/next-step/", account_api.AccountNextStepSetApi.as_view(), name="account_next_step_set"),
    path(
        "accounts/<int:pk>/next-step/complete/",
        account_api.AccountNextStepCompleteApi.as_view(),
        name="account_next_step_complete",
    ),
    path("contacts/<int:pk>/", api.ContactDetailApi.as_view(), name="contact_detail"),
    path("search/", api.SearchApi.as_view(), name="search"),
]
