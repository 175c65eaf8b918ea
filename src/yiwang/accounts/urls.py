from django.urls import path

from yiwang.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("otp/", views.otp_view, name="otp"),
    path("profile/", views.profile_view, name="profile"),
    path("profile/access-log/", views.my_access_log_view, name="access_log"),
]
