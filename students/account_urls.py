from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    # Django's LogoutView answers POST only.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-change/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password-change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "activate/<uidb64>/<token>/", views.AccountActivateView.as_view(), name="account_activate"
    ),
    path(
        "mention-emails/off/<str:token>/",
        views.MentionEmailsOffView.as_view(),
        name="mention_emails_off",
    ),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("profile/delete/", views.AccountDeleteView.as_view(), name="account_delete"),
]
