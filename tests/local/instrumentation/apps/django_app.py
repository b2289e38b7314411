"""A one-file Django service (see README.md beside this file)."""

import logging
import os

import django
import obsbox_instrumentation as obsbox
from django.conf import settings
from django.http import JsonResponse
from django.urls import path

LATE = os.environ.get("APP_CONFIGURE", "first") == "late"
if not LATE:
    obsbox.configure()

settings.configure(
    DEBUG=False,
    SECRET_KEY="obsbox-test-only",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    LOGGING_CONFIG=None,
)
django.setup()


def item(request, item_id):  # type: ignore[no-untyped-def]
    logging.getLogger("shop").info("item served")
    return JsonResponse({"tenant": obsbox.current_tenant(), "pid": os.getpid()})


urlpatterns = [path("v1/items/<int:item_id>", item)]

from django.core.wsgi import get_wsgi_application  # noqa: E402

app = get_wsgi_application()

if LATE:
    obsbox.configure()
