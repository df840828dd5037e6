from django.urls import path

from . import views

urlpatterns = [
    path(
        "<uuid:certificate_id>/", views.CertificateDetailView.as_view(), name="certificate_detail"
    ),
    path("<uuid:certificate_id>/pdf/", views.CertificatePdfView.as_view(), name="certificate_pdf"),
    path(
        "<uuid:certificate_id>/revoke/",
        views.CertificateRevokeView.as_view(),
        name="certificate_revoke",
    ),
]
