import os

from django.core.wsgi import get_wsgi_application

from casal_tracker.serving import refuse_to_serve_without_a_secret

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casal_tracker.settings")

application = get_wsgi_application()
refuse_to_serve_without_a_secret()
