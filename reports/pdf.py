"""PDF from the same template as the printable page, through WeasyPrint.

The stylesheets are handed over from the static files on disk and every other fetch is
refused: making a PDF never reaches the network."""

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

# What the printable page links to, in the same order.
STYLESHEETS = ["css/common.css", "css/dashboard.css", "css/report.css"]


class Unavailable(Exception):
    """WeasyPrint is there but the system lacks the libraries it draws with (Pango)."""


def render(request, template_name, context):
    try:
        import weasyprint
        from weasyprint.urls import URLFetcher
    except OSError as error:  # Pango or its fonts are missing
        raise Unavailable(str(error)) from error

    class NoFetching(URLFetcher):
        def fetch(self, url, headers=None):
            raise ValueError(f"The PDF fetches nothing: {url}")

    html = render_to_string(template_name, {**context, "as_pdf": True}, request=request)
    document = weasyprint.HTML(
        string=html, base_url=request.build_absolute_uri("/"), url_fetcher=NoFetching()
    )
    stylesheets = [weasyprint.CSS(filename=finders.find(name)) for name in STYLESHEETS]
    return document.write_pdf(stylesheets=stylesheets)
