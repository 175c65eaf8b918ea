from django.urls import path

from yiwang.grid import views

app_name = "grid"

urlpatterns = [
    path("", views.grid_map, name="map"),
    path("map.geojson", views.grid_map_data, name="map_data"),
    path("import/", views.grid_import, name="import"),
    path("<int:grid_id>/", views.grid_profile, name="profile"),
]
