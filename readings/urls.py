from django.urls import path

from readings import views
from readings.measurements import views as measurement_views

app_name = "readings"

urlpatterns = [
    path("", views.ReadingListView.as_view(), name="index"),
    path("meters/<uuid:id>/", views.MeterReadingsView.as_view(), name="meter"),
    path("upload/", views.UploadView.as_view(), name="upload"),
    path("upload/template.csv", views.UploadTemplateView.as_view(), name="upload_template"),
    path("uploads/<uuid:id>/", views.UploadDetailView.as_view(), name="upload_detail"),
    path("uploads/<uuid:id>/progress/", views.UploadProgressView.as_view(), name="upload_progress"),
    path("uploads/<uuid:id>/errors.csv", views.UploadErrorsView.as_view(), name="upload_errors"),
    path("uploads/<uuid:id>/file", views.UploadFileView.as_view(), name="upload_file"),
    path("anomalies/", views.AnomalyListView.as_view(), name="anomalies"),
    path("measurements/", measurement_views.MeasurementsView.as_view(), name="measurements"),
    path("measurements/template.csv", measurement_views.MeasurementsTemplateView.as_view(),
         name="measurements_template"),
    path("anomalies/<uuid:id>/review/", views.AnomalyReviewView.as_view(), name="anomaly_review"),
]
