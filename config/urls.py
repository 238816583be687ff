from __future__ import annotations

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

# A friendly 503 page when the database is unreachable, the 500 page otherwise (apps/core/http/errors.py).
handler400 = "apps.core.http.errors.handler400"
handler500 = "apps.core.http.errors.handler500"

urlpatterns = [
    path("", include("apps.core.urls")),
    path(settings.ADMIN_URL, admin.site.urls),
    path("", include("apps.content.urls")),
]

# Uploaded covers in development (static() adds nothing unless DEBUG); production serves media from nginx or S3.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
