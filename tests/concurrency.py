"""Two people saving at the same instant, for real.

Each person is a browser of her own (benchmarks/browser.py: cookies, forms posted as a browser
posts them) in a thread of her own; a barrier releases both requests together, and the live
server answers each in a thread with its own database connection, as gunicorn's workers do
(on SQLite too: the test database is a file, see settings). Every test runs PAIRS such pairs
and counts what was lost.
"""

import contextlib
import re
import threading
from html import unescape

from django.conf import settings
from django.db import connections
from django.test import Client

from benchmarks.browser import Browser, form_errors, form_fields
from plans.groups import COORDINATION
from plans.models import Membership
from tests.helpers import make_user

PAIRS = 20
NOT_SAVED = "Vos changements ne sont pas enregistrés ; ils restent dans le formulaire."


def browser_for(live_server, user):
    """A browser with `user` logged in (her session made here, not by the login page: the
    tests are about saving, and django-axes counts logins)."""
    client = Client()
    client.force_login(user)
    browser = Browser(int(live_server.url.rsplit(":", 1)[1]), timeout=60)
    browser.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    return browser


@contextlib.contextmanager
def two_coordinators(live_server, django_user_model, coalition):
    """([coordo-a, coordo-b], [her browser, hers]): two coordinators of `coalition`."""
    users = []
    for username in ("coordo-a", "coordo-b"):
        user = make_user(django_user_model, username, COORDINATION)
        Membership.objects.create(coalition=coalition, user=user)
        users.append(user)
    browsers = [browser_for(live_server, user) for user in users]
    try:
        yield users, browsers
    finally:
        for browser in browsers:
            browser.close()  # the server's thread for her connection ends, with its database's


def at_once(*calls):
    """Runs each call in a thread of its own, all released at the same instant; their
    results, in order. An exception in any is raised here."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)
    errors = []

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as error:  # raised again in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a request did not finish in 120 s"
    if errors:
        raise errors[0]
    return results


def each_url(browsers, urls):
    return [urls] * len(browsers) if isinstance(urls, str) else urls


def open_at_once(browsers, urls):
    """Each browser opens its page (`urls`: one for all, or one each) at the same instant."""
    return at_once(
        *(
            lambda b=b, url=url: b.request("GET", url)
            for b, url in zip(browsers, each_url(browsers, urls), strict=True)
        )
    )


def post_at_once(browsers, urls, posts):
    """Each browser posts its fields (`posts`, one list each) at the same instant."""
    return at_once(
        *(
            lambda b=b, url=url, fields=fields: b.request("POST", url, fields, referer=url)
            for b, url, fields in zip(browsers, each_url(browsers, urls), posts, strict=True)
        )
    )


def fields_of(page, form_id, submit_name=None, action=None, **changes):
    """The fields the page's form (`form_id`, or the one posting to `action`) submits, with
    `changes` ({name: value}) applied; a name it does not submit yet is added (as with an
    autocomplete menu, whose option its script adds when she picks one)."""
    fields = [
        (name, changes.get(name, value))
        for name, value in form_fields(page.text, form_id, action=action)
    ]
    fields += [(name, value) for name, value in changes.items() if name not in dict(fields)]
    if submit_name:
        fields.append((submit_name, "1"))
    return fields


def text(page):
    """The page as read: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def one_saved(responses):
    """(the response of the save that went through, the refused one), asserting that exactly
    one of the two went through (a redirect) and the other was refused (the page again)."""
    statuses = sorted(response.status for response in responses)
    assert statuses == [200, 302], [
        (response.status, form_errors(response.text)) for response in responses
    ]
    saved = next(response for response in responses if response.status == 302)
    refused = next(response for response in responses if response.status == 200)
    return saved, refused
