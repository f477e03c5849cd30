from django.urls import path

from . import views

app_name = "transfer"

urlpatterns = [
    path("imports/", views.import_list, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="detail"),
    path("imports/<int:pk>/map/", views.import_columns, name="map"),
    path("imports/<int:pk>/values/", views.import_values, name="values"),
    path("imports/<int:pk>/preview/", views.import_preview, name="preview"),
    path("imports/<int:pk>/undo/", views.import_undo, name="undo"),
    path("imports/<int:pk>/file/", views.import_file, name="file"),
    path("exports/", views.export_list, name="exports"),
    path("exports/<int:pk>/file/", views.export_file, name="export_file"),
]
