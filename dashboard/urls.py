from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("plans/<slug:slug>/", views.plan_detail, name="plan"),
    path("plans/<slug:slug>/changements/", views.plan_changes_view, name="changes"),
    path("plans/<slug:slug>/actions/<str:code>/", views.action_detail, name="action"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation"),
    path("themes/", views.theme_list, name="themes"),
    path("themes/<slug:code>/", views.theme_detail, name="theme"),
]
