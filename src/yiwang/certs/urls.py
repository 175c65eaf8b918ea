"""Certificate pages (namespace ``certs``, mounted at /certs/)."""

from django.urls import path

from yiwang.certs import views

app_name = "certs"

urlpatterns = [
    path("", views.wallet, name="wallet"),
    path("verify/", views.verify_page, name="verify"),
    path("keys.json", views.keys_json, name="keys"),
    path("issued/", views.issued, name="issued"),
    path("received/", views.received, name="received"),
    path("c/<str:identifier>/", views.certificate_page, name="certificate"),
    path("c/<str:identifier>/qr.svg", views.certificate_qr, name="certificate_qr"),
    path("c/<str:identifier>/copy/", views.copy_create, name="copy_create"),
    path("c/<str:identifier>/revoke/", views.revoke, name="revoke"),
    path("copies/<str:identifier>/", views.copy_page, name="copy"),
    path("copies/<str:identifier>/qr.svg", views.copy_qr, name="copy_qr"),
]
