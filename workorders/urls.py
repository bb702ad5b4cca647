from django.urls import path

from workorders import staffing_views, views

app_name = "workorders"

urlpatterns = [
    path("", views.work_order_list, name="list"),
    path("state-counts/", views.state_counts, name="state_counts"),
    path("new/", views.work_order_create, name="create"),
    path("<int:pk>/", views.work_order_detail, name="detail"),
    path("<int:pk>/move/", views.work_order_move, name="move"),
    path("<int:pk>/edit/", views.work_order_edit, name="edit"),
    path("<int:pk>/split/", views.work_order_split, name="split"),
    path("operations/<int:pk>/move/", views.operation_move, name="operation_move"),
]

# Skills, rosters and shift grants (docs/staffing.md).
urlpatterns += [
    path("staffing/skills/", staffing_views.skill_matrix, name="skill_matrix"),
    path("staffing/skills/set/", staffing_views.qualification_set, name="qualification_set"),
    path("staffing/skills/export/", staffing_views.skill_matrix_export, name="skill_export"),
    path("staffing/skills/import/", staffing_views.skill_matrix_import, name="skill_import"),
    path("staffing/skills/expiring/", staffing_views.qualifications_expiring, name="expiring"),
    path("staffing/roster/", staffing_views.roster, name="roster"),
    path("staffing/roster/add/", staffing_views.roster_entry_add, name="roster_add"),
    path(
        "staffing/roster/<int:pk>/remove/",
        staffing_views.roster_entry_remove,
        name="roster_remove",
    ),
    path("staffing/roster/import/", staffing_views.roster_import, name="roster_import"),
    path("staffing/grants/", staffing_views.shift_grants, name="shift_grants"),
    path("staffing/grants/give/", staffing_views.shift_grant_give, name="shift_grant_give"),
    path(
        "staffing/grants/<int:pk>/revoke/",
        staffing_views.shift_grant_revoke,
        name="shift_grant_revoke",
    ),
]
