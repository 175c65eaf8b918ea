from django.urls import path

from yiwang.registry import views

app_name = "registry"

urlpatterns = [
    path("", views.index, name="index"),
    path("mine/", views.my_record, name="mine"),
    path("people/", views.people, name="people"),
    path("people/<int:pk>/", views.person_detail, name="person"),
    path("people/<int:pk>/unmask/", views.person_unmask, name="person_unmask"),
    path("places/", views.places, name="places"),
    path("places/<int:pk>/", views.place_detail, name="place"),
    path("things/", views.things, name="things"),
    path("things/<int:pk>/", views.thing_detail, name="thing"),
    path("organisations/", views.organisations, name="organisations"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation"),
]
