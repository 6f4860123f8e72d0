from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("plans/<slug:slug>/classeur.xlsx", views.plan_workbook, name="workbook"),
    path("plans/<slug:slug>/rapport/", views.assembly_report, name="assembly"),
    path("plans/<slug:slug>/rapport.pdf", views.assembly_report_pdf, name="assembly_pdf"),
]
