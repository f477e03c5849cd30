from django.urls import path

from . import account_views, views

app_name = "opportunities"

urlpatterns = [
    path("deals/", views.my_deals, name="my_deals"),
    path("deals/new/", views.opportunity_create, name="create"),
    path("deals/bulk/", views.deals_bulk, name="bulk"),
    path("deals/<int:pk>/", views.opportunity_detail, name="detail"),
    path("deals/<int:pk>/panels/<slug:name>/", views.opportunity_panel, name="panel"),
    path("deals/<int:pk>/edit/", views.opportunity_edit, name="edit"),
    path("deals/<int:pk>/move/", views.opportunity_move, name="move"),
    path("deals/<int:pk>/close-won/", views.opportunity_close_won, name="close_won"),
    path("deals/<int:pk>/close-lost/", views.opportunity_close_lost, name="close_lost"),
    path("deals/<int:pk>/reopen/", views.opportunity_reopen, name="reopen"),
    path("deals/<int:pk>/reassign/", views.opportunity_reassign, name="reassign"),
    path("deals/<int:pk>/milestones/<int:milestone_pk>/", views.milestone_toggle, name="milestone_toggle"),
    path("deals/<int:pk>/next-step/", views.next_step_set, name="next_step_set"),
    path("deals/<int:pk>/next-step/complete/", views.next_step_complete, name="next_step_complete"),
    path("deals/<int:pk>/activities/", views.activity_log, name="activity_log"),
    path("deals/<int:pk>/activities/all/", views.opportunity_activities, name="activities"),
    path("deals/<int:pk>/history/", views.opportunity_history, name="history"),
    path("deals/<int:pk>/buying-team/", views.buying_team_add, name="buying_team_add"),
    path(
        "deals/<int:pk>/buying-team/<int:contact_pk>/remove/",
        views.buying_team_remove,
        name="buying_team_remove",
    ),
    path("deals/<int:pk>/competitors/", views.competitor_set, name="competitor_set"),
    path(
        "deals/<int:pk>/competitors/<int:competitor_pk>/remove/",
        views.competitor_remove,
        name="competitor_remove",
    ),
    path("accounts/", account_views.account_list, name="account_list"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("accounts/search/", views.account_search, name="account_search"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account_edit"),
    path("accounts/<int:pk>/activities/", views.account_activity_log, name="account_activity_log"),
    path("accounts/<int:pk>/activities/all/", views.account_activities, name="account_activities"),
    path("accounts/<int:pk>/history/", views.account_history, name="account_history"),
    path("accounts/<int:pk>/contacts/new/", views.contact_create, name="contact_create"),
    path("accounts/<int:pk>/plan/", account_views.account_plan_update, name="account_plan_update"),
    path("accounts/<int:pk>/team/", account_views.account_team_add, name="account_team_add"),
    path(
        "accounts/<int:pk>/team/<int:contact_pk>/remove/",
        account_views.account_team_remove,
        name="account_team_remove",
    ),
    path("accounts/<int:pk>/next-step/", account_views.account_next_step_set, name="account_next_step_set"),
    path(
        "accounts/<int:pk>/next-step/complete/",
        account_views.account_next_step_complete,
        name="account_next_step_complete",
    ),
    path("accounts/<int:pk>/deals/new/", account_views.account_deal_create, name="account_deal_create"),
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("search/", views.search, name="search"),
]
