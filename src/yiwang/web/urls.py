from django.urls import path

from yiwang.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("portal/", views.portal, name="portal"),
    path("console/", views.console, name="console"),
    path("console/users/", views.users, name="users"),
    path("console/users/<int:user_id>/", views.user_detail, name="user_detail"),
    path("console/users/<int:user_id>/unmask/", views.user_unmask, name="user_unmask"),
    path("console/audit/", views.audit_log, name="audit"),
    path("console/audit/verify/", views.audit_verify, name="audit_verify"),
    path("console/security/", views.security, name="security"),
    path("console/security/unlock/", views.security_unlock, name="security_unlock"),
]
