"""The permission matrix: every URL of the application, for five people, says who may see
and who may change what.

The five: anonymous; a member of coalition A (group Membres); the coordinator of A and the
coordinator of B (group Coordination, a seat at their own coalition only); a superuser.
The world (tests/world.py) gives each coalition a full plan marked with its own
word, "Ananas" or "Bergamote", so that one check runs on every response: a person never
reads the word of a coalition she is not a member of.

The admin's URLs are enumerated from `admin.site._registry`, the others from the URL
resolver: `test_every_url_name_is_in_the_matrix` fails when a URL appears that no cell
covers. Cell ids read `<url name>-<user>-<object's side>`: A, B, S (the shared
organisation), T (the theme), * (an object outside the plan data).

The GET cells say who sees what; the POST tests below them say who changes what, by every
door (change form, history revert, delete, bulk action, list-editable, imports, trash), and
that a refused change leaves the row and its history as they were.

The world is built once for the module, in a transaction each test rolls back to
(the `coalitions` fixture of tests/conftest.py).
"""

import csv
import io
from urllib.parse import parse_qsl, quote

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import URLResolver, get_resolver, reverse
from django.utils.html import escape
from import_export.admin import ExportMixin
from openpyxl import Workbook

from actions.models import Action, ProgressNote, Target
from partners.models import ActionPartner, Organisation
from plans.models import Coalition, Plan, Review, Theme
from reports import pdf
from tests.dashboard.reading import edit_links
from tests.helpers import change_form_data, form_data
from tests.imports.helpers import HEADER as ACTION_HEADER
from tests.world import (
    HOME,
    MARKERS,
    PLAN_DATA,
    PLAN_DATA_APPS,
    PROVINCE_WIDE,
    USERS,
    action_state,
    client_of,
    first_version,
    foreign_markers,
    obj,
    own_markers,
    pk,
    readable_text,
    sees,
    sides_of,
)

pytestmark = pytest.mark.django_db

# --- Outcomes --------------------------------------------------------------------------------

OK = "200"
READ_ONLY = "200 without a save button"
DENIED = "403"
NOT_FOUND = "404"
NOT_ALLOWED = "405 (POST only)"
HIDDEN = "302 to the admin index, 403 or 404: the object is not hers"
ADMIN_LOGIN = "302 to the admin login"
LOGIN = "302 to the login page"
REDIRECT = "302"
ANSWERED = "any answer but an error or a login"

# --- The table -------------------------------------------------------------------------------

# Each admin view of a plan-data model: what a member and a coordinator get on an object of
# their coalition, of the shared organisation or the theme. Another coalition's object is
# HIDDEN from both; anonymous visitors go to the admin login; superusers get OK everywhere
# (but process_import, which only takes POST).
# fmt: off
ADMIN_VIEWS = {
    # view              member        coordinator
    "changelist":      (OK,          OK),
    "add":             (DENIED,      OK),
    "change":          (READ_ONLY,   OK),
    "delete":          (DENIED,      OK),
    "history":         (OK,          OK),
    "simple_history":  (READ_ONLY,   OK),           # the revert form of one version
    "import":          (DENIED,      OK),
    "process_import":  (NOT_ALLOWED, NOT_ALLOWED),  # its form is POSTed by the import
    "export":          (OK,          OK),
    "import_table":    (DENIED,      OK),
    "recover_list":    (DENIED,      OK),           # the trash: deleted objects
    "recover":         (DENIED,      OK),           # restore one (by its deletion record)
    "correct":         (DENIED,      OK),           # a trail entry's correction (a new one)
    "update":          (DENIED,      OK),           # an action's status, note, values at once
}
# fmt: on
# Where a coordinator reads only: themes are the province's vocabulary, and coalitions are
# created and deleted by superusers.
NOT_HERS = {"add": DENIED, "delete": DENIED, "recover_list": DENIED, "recover": DENIED}
# The trail is a record: nobody changes or deletes an entry in the admin, superusers
# included; a mistake is corrected by a new entry ("correct"), and notes are written from
# the action's pages, so the trail has no add page and no trash either.
A_RECORD = {**NOT_HERS, "change": READ_ONLY, "simple_history": READ_ONLY}
COORDINATOR_EXCEPTIONS = {
    "plans.Theme": {**NOT_HERS, "change": READ_ONLY, "simple_history": READ_ONLY},
    "plans.Coalition": NOT_HERS,
    "actions.ProgressNote": A_RECORD,
}
# Themes have no trash, not even for superusers.
SUPERUSER_EXCEPTIONS = {
    "plans.Theme": {"recover_list": DENIED, "recover": DENIED},
    "actions.ProgressNote": A_RECORD,
}
# Views about one object (the others are about the model).
OBJECT_VIEWS = {
    "change",
    "delete",
    "history",
    "simple_history",
    "import_table",
    "recover",
    "correct",
    "update",
    "password_change",  # auth.User's
}
# Every view an admin may have; a URL of an admin that is none of these fails
# test_every_url_name_is_in_the_matrix until it is added here and to the table.
KNOWN_VIEWS = [*ADMIN_VIEWS, "password_change"]

# The members' pages: who reads a coalition's pages is decided by `sees` (her coalitions,
# the shared organisation, the theme); others get 404, anonymous the login page.
MEMBER_PAGES = {
    "dashboard:home": [None],
    "dashboard:themes": [None],
    "dashboard:theme": ["T"],
    "dashboard:plan": ["A", "B"],
    "dashboard:changes": ["A", "B"],
    "dashboard:action": ["A", "B"],
    "dashboard:organisation": ["A", "B", "S"],
    "reports:workbook": ["A", "B"],
    "reports:assembly": ["A", "B"],
    "reports:assembly_pdf": ["A", "B"],
}
# Pages about no coalition: (anonymous, anyone logged in).
# fmt: off
SITE_PAGES = {
    # name                        anonymous     logged in
    "login":                      (OK,          OK),
    "logout":                     (NOT_ALLOWED, NOT_ALLOWED),
    "password_change":            (LOGIN,       OK),
    "password_change_done":       (LOGIN,       OK),
    "password_reset":             (OK,          OK),
    "password_reset_done":        (OK,          OK),
    "password_reset_confirm":     (OK,          OK),  # a link not valid says so
    "password_reset_complete":    (OK,          OK),
    "set_language":               (REDIRECT,    REDIRECT),  # choosing is a POST
    "health":                     (OK,          OK),  # casal_tracker/health.py
    "admin:index":                (ADMIN_LOGIN, OK),
    "admin:login":                (OK,          REDIRECT),
    "admin:logout":               (REDIRECT,    NOT_ALLOWED),
    "admin:password_change":      (ADMIN_LOGIN, OK),
    "admin:password_change_done": (ADMIN_LOGIN, OK),
    "admin:jsi18n":               (ADMIN_LOGIN, OK),
}
# fmt: on
# Covered by their own tests below.
OTHER_ADMIN_URLS = {
    "admin:app_list",
    "admin:autocomplete",
    "admin:view_on_site",
    "admin:actions_action_next_code",
}


# --- The world, built once for the module ----------------------------------------------------


@pytest.fixture(scope="module")
def world(coalitions):
    """The A/B world (tests/world.py), built once for the module (tests/conftest.py)."""
    return coalitions


# --- Checking one answer ---------------------------------------------------------------------


def body(response):
    return "" if response.streaming else response.content.decode(errors="replace")


def assert_outcome(response, outcome, back_to=()):
    """`back_to`: the pages, besides the admin index, where a HIDDEN object may send."""
    status = response.status_code
    where = response.get("Location", "")
    seen = f"got {status} {where}".strip()
    if outcome in (OK, READ_ONLY):
        assert status == 200, seen
        if outcome == READ_ONLY:
            assert 'name="_save"' not in body(response), "a save button for a reader"
    elif outcome == HIDDEN:
        assert status in (302, 403, 404), seen
        if status == 302:
            assert where in (reverse("admin:index"), *back_to), seen
    elif outcome == ADMIN_LOGIN:
        assert status == 302 and where.startswith(reverse("admin:login")), seen
    elif outcome == LOGIN:
        assert status == 302 and where.startswith(reverse("login")), seen
    elif outcome == REDIRECT:
        assert status == 302, seen
    elif outcome == ANSWERED:
        assert status < 500, seen
        assert not where.startswith(reverse("admin:login")), seen
    else:
        expected = {DENIED: 403, NOT_FOUND: 404, NOT_ALLOWED: 405}[outcome]
        assert status == expected, seen


def assert_nothing_foreign(response, user):
    """Neither the body nor where a redirect leads names another coalition's data. A login
    redirect brings back the address asked for: the visitor's own words, not a leak."""
    asked = response.request["PATH_INFO"]
    location = response.get("Location", "").replace(quote(asked, safe="/"), "")
    text = f"{readable_text(response)} {location}".casefold()
    for marker in foreign_markers(user):
        assert marker.casefold() not in text, f"{user} reads {marker}'s data"


# --- The admin's models ----------------------------------------------------------------------


def model_views(model_admin):
    """The known views among the admin's URLs."""
    names = {pattern.name for pattern in model_admin.get_urls()}
    return [
        view
        for view in KNOWN_VIEWS
        if url_name(model_admin.model, view).removeprefix("admin:") in names
    ]


def sides_for(label, view):
    """The trash holds A's and B's deleted objects; other views work on the live ones."""
    if view == "recover" and label in PLAN_DATA and label not in PROVINCE_WIDE:
        return ["A", "B"]
    return sides_of(label) if view in OBJECT_VIEWS else [None]


def url_name(model, view):
    return f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"


def admin_cells():
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        for view in model_views(model_admin):
            for side in sides_for(label, view):
                for user in USERS:
                    cell = "-".join(filter(None, [url_name(model, view), user, side]))
                    yield pytest.param(label, view, side, user, id=cell)


ADMIN_CELLS = list(admin_cells())


def admin_expected(label, view, side, user):
    if user == "anon":
        return ADMIN_LOGIN
    if label not in PLAN_DATA:  # auth, axes: the superusers'
        if user == "superuser":
            return OK if view == "changelist" else ANSWERED
        return HIDDEN if view in OBJECT_VIEWS else DENIED
    if user == "superuser":
        default = NOT_ALLOWED if view == "process_import" else OK
        return SUPERUSER_EXCEPTIONS.get(label, {}).get(view, default)
    if view in OBJECT_VIEWS and not sees(user, side):
        return HIDDEN
    member, coordinator = ADMIN_VIEWS[view]
    if user == "member_a":
        return member
    return COORDINATOR_EXCEPTIONS.get(label, {}).get(view, coordinator)


def admin_url(world, label, view, side):
    name = url_name(apps.get_model(label), view)
    if view not in OBJECT_VIEWS:
        return reverse(name)
    if view == "recover":
        trash = world.sides[side].trash if side in MARKERS else {}
        if label in trash:
            return reverse(name, args=[trash[label][1]])
        return reverse(name, args=[first_version(obj(world, label, side))])
    object_pk = pk(world, label, side)
    if view == "simple_history":
        return reverse(name, args=[object_pk, first_version(obj(world, label, side))])
    return reverse(name, args=[object_pk])


@pytest.mark.parametrize(("label", "view", "side", "user"), ADMIN_CELLS)
def test_admin(world, label, view, side, user):
    expected = admin_expected(label, view, side, user)

    response = client_of(world, user).get(admin_url(world, label, view, side))

    # The trash says a deleted object is no longer there, and shows the trash.
    trash = [reverse(url_name(apps.get_model(label), "recover_list"))] if view == "recover" else []
    assert_outcome(response, expected, back_to=trash)
    assert_nothing_foreign(response, user)
    if expected == OK and view in ("change", "simple_history"):
        assert 'name="_save"' in body(response), "no save button for who may change"
    if expected == OK and view == "changelist" and label in PLAN_DATA:
        listed = {row.pk for row in response.context["cl"].result_list}
        for side_of_row in sides_of(label):
            assert (pk(world, label, side_of_row) in listed) == sees(user, side_of_row)
    if expected == OK and view == "recover_list":  # each deleted object's restore link
        for side_of_row in MARKERS:
            restore = admin_url(world, label, "recover", side_of_row)
            assert (f'href="{restore}"' in body(response)) == sees(user, side_of_row)


# --- The admin's other pages -----------------------------------------------------------------


def site_url(name):
    if name == "health" and name not in url_names():
        return "/health/"
    if name == "password_reset_confirm":
        return reverse(name, args=["MQ", "pas-un-jeton"])
    return reverse(name)


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("name", SITE_PAGES)
def test_site_page(world, name, user):
    anonymous, logged_in = SITE_PAGES[name]

    response = client_of(world, user).get(site_url(name))

    assert_outcome(response, anonymous if user == "anon" else logged_in)
    assert_nothing_foreign(response, user)


APP_LABELS = sorted({model._meta.app_label for model in admin.site._registry})


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("app_label", APP_LABELS)
def test_admin_app_list(world, app_label, user):
    if user == "anon":
        expected = ADMIN_LOGIN
    elif user == "superuser" or app_label in PLAN_DATA_APPS:
        expected = OK
    else:
        expected = NOT_FOUND  # an app without a model she may see

    response = client_of(world, user).get(reverse("admin:app_list", args=[app_label]))

    assert_outcome(response, expected)
    assert_nothing_foreign(response, user)


def autocomplete_cells():
    """Every autocomplete field of every admin and inline, as (source model, field)."""
    fields = set()
    for model_admin in admin.site._registry.values():
        for holder in [model_admin, *model_admin.inlines]:
            for field in holder.autocomplete_fields:
                fields.add((holder.model._meta.label, field))
    for label, field in sorted(fields):
        for user in USERS:
            yield pytest.param(label, field, user, id=f"admin:autocomplete-{label}.{field}-{user}")


@pytest.mark.parametrize(("label", "field", "user"), list(autocomplete_cells()))
def test_admin_autocomplete(world, label, field, user):
    app_label, model_name = label.lower().split(".")
    remote = apps.get_model(label)._meta.get_field(field).related_model
    remote_label = remote._meta.label
    if user == "anon":
        expected = ADMIN_LOGIN
    elif user == "superuser" or remote_label in PLAN_DATA:
        expected = OK
    else:
        expected = DENIED  # a coordinator does not list the site's accounts

    response = client_of(world, user).get(
        reverse("admin:autocomplete"),
        {"app_label": app_label, "model_name": model_name, "field_name": field, "term": ""},
    )

    assert_outcome(response, expected)
    assert_nothing_foreign(response, user)
    if expected == OK and remote_label in PLAN_DATA:
        offered = {int(result["id"]) for result in response.json()["results"]}
        for side in sides_of(remote_label):
            assert (pk(world, remote_label, side) in offered) == sees(user, side), side


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("side", ["A", "B"])
def test_admin_next_action_code(world, user, side):
    """The add form's next free code, for a sub-objective of her coalitions only."""
    response = client_of(world, user).get(
        reverse("admin:actions_action_next_code"),
        {"sub_objective": pk(world, "plans.SubObjective", side)},
    )
    if user == "anon":
        assert_outcome(response, ADMIN_LOGIN)
    elif user == "member_a":
        assert_outcome(response, DENIED)
    elif sees(user, side):
        assert response.status_code == 200
        assert response.json()["code"].replace(".", "").isdigit()
    else:
        assert response.status_code == 404
    assert_nothing_foreign(response, user)


def view_on_site_cells():
    for model in admin.site._registry:
        if hasattr(model, "get_absolute_url"):
            for side in sides_of(model._meta.label):
                for user in USERS:
                    cell = f"admin:view_on_site-{model._meta.label}-{user}-{side}"
                    yield pytest.param(model._meta.label, side, user, id=cell)


@pytest.mark.parametrize(("label", "side", "user"), list(view_on_site_cells()))
def test_admin_view_on_site(world, label, side, user):
    """The admin's "view on site" redirect must not tell where another coalition's object
    lives (its plan's identifier is in the address)."""
    target = obj(world, label, side)
    content_type = ContentType.objects.get_for_model(target)

    response = client_of(world, user).get(
        reverse("admin:view_on_site", args=[content_type.pk, target.pk])
    )

    if user == "anon":
        assert_outcome(response, ADMIN_LOGIN)
    elif sees(user, side):
        assert_outcome(response, REDIRECT)
        assert response["Location"].endswith(target.get_absolute_url())
    else:
        assert response.status_code in (302, 403, 404)
    assert_nothing_foreign(response, user)


# --- The members' dashboard and reports ------------------------------------------------------


def member_page_url(world, name, side):
    if side is None:
        return reverse(name)
    if side == "T":
        return reverse(name, args=[world.theme.code])
    if name == "dashboard:organisation":
        return reverse(name, args=[pk(world, "partners.Organisation", side)])
    plan = world.sides[side].plan
    if name == "dashboard:action":
        return reverse(name, args=[plan.slug, world.sides[side].action.code])
    return reverse(name, args=[plan.slug])


def member_page_cells():
    for name, sides in MEMBER_PAGES.items():
        for side in sides:
            for user in USERS:
                yield pytest.param(name, side, user, id="-".join(filter(None, [name, user, side])))


@pytest.fixture
def private_site(settings):
    settings.PUBLIC_DASHBOARD = False


@pytest.fixture
def quick_pdf(monkeypatch):
    """The PDF's HTML, not its drawing (tests/reports draws it): who gets it is decided
    before, and what it holds is that HTML."""

    def html_instead(request, template, context):
        return render_to_string(template, context, request).encode()

    monkeypatch.setattr(pdf, "render", html_instead)


@pytest.mark.usefixtures("private_site", "quick_pdf")
@pytest.mark.parametrize(("name", "side", "user"), list(member_page_cells()))
def test_member_page(world, name, side, user):
    if user == "anon":
        expected = LOGIN
    elif side is None or sees(user, side):
        expected = OK
    else:
        expected = NOT_FOUND

    response = client_of(world, user).get(member_page_url(world, name, side))

    assert_outcome(response, expected)
    assert_nothing_foreign(response, user)
    if expected == OK and side in MARKERS:
        assert MARKERS[side].casefold() in readable_text(response).casefold()


EDIT_LINKS = {
    # page: the admin change page its "Modifier" leads to (model label)
    "dashboard:plan": "plans.Plan",
    "dashboard:action": "actions.Action",
    "dashboard:organisation": "partners.Organisation",
}


def edit_link_cells():
    for name, label in EDIT_LINKS.items():
        for side in sides_of(label):
            for user in ["member_a", "coord_a", "coord_b", "superuser"]:
                if sees(user, side):
                    cell = f"{name}-edit-link-{user}-{side}"
                    yield pytest.param(name, label, side, user, id=cell)


@pytest.mark.usefixtures("private_site")
@pytest.mark.parametrize(("name", "label", "side", "user"), list(edit_link_cells()))
def test_edit_link_only_for_who_may_change(world, name, label, side, user):
    response = client_of(world, user).get(member_page_url(world, name, side))

    change_url = reverse(url_name(apps.get_model(label), "change"), args=[pk(world, label, side)])
    if user == "member_a":
        assert edit_links(response) == []
    else:
        assert change_url in edit_links(response)


# --- Every URL is in the matrix --------------------------------------------------------------


def url_names(patterns=None, namespace=None):
    names = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            names |= url_names(pattern.url_patterns, inner or None)
        elif pattern.name:
            names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
    return names


def covered_names():
    covered = {
        url_name(admin.site._registry[model].model, view)
        for model in admin.site._registry
        for view in model_views(admin.site._registry[model])
    }
    return covered | set(MEMBER_PAGES) | set(SITE_PAGES) | OTHER_ADMIN_URLS


def test_every_url_name_is_in_the_matrix():
    missing = url_names() - covered_names()

    assert not missing, f"URLs no cell covers; add them to the tables: {sorted(missing)}"


def test_every_name_of_the_tables_is_a_url():
    stale = covered_names() - url_names() - {"health"}

    assert not stale, f"names in the tables that the URLconf no longer has: {sorted(stale)}"


# --- Lists, searches and filters of the admin ------------------------------------------------


def search_cells():
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        if label in PLAN_DATA and model_admin.search_fields and label not in PROVINCE_WIDE:
            for user in ["member_a", "coord_a", "coord_b", "superuser"]:
                for side in MARKERS:
                    cell = f"{url_name(model, 'changelist')}-search-{user}-{side}"
                    yield pytest.param(label, side, user, id=cell)


@pytest.mark.parametrize(("label", "side", "user"), list(search_cells()))
def test_admin_search_finds_only_her_coalitions_rows(world, label, side, user):
    response = client_of(world, user).get(
        reverse(url_name(apps.get_model(label), "changelist")), {"q": MARKERS[side]}
    )

    assert response.status_code == 200
    found = {row.pk for row in response.context["cl"].result_list}
    if sees(user, side):
        assert pk(world, label, side) in found
    else:
        assert not found, "rows of another coalition"


ACTIONS = reverse("admin:actions_action_changelist")


def filter_choices(response):
    """{(parameter, value)} that the sidebar filters offer, each for its own parameters
    (a choice's link also repeats the other filters already chosen)."""
    changelist = response.context["cl"]
    offered = set()
    for spec in changelist.filter_specs:
        own = set(spec.expected_parameters())
        for choice in spec.choices(changelist):
            pairs = parse_qsl(choice["query_string"].lstrip("?"))
            offered |= {(name, value) for name, value in pairs if name in own}
    return offered


@pytest.mark.parametrize("user", ["member_a", "coord_a", "coord_b", "superuser"])
@pytest.mark.parametrize("chosen", ["nothing", "plan-A", "plan-B"])
def test_action_list_filters_offer_only_her_coalitions_choices(world, user, chosen):
    query = {}
    if chosen != "nothing":
        query["plan__id__exact"] = world.sides[chosen[-1]].plan.pk

    response = client_of(world, user).get(ACTIONS, query)

    assert response.status_code == 200
    choices = filter_choices(response)
    for side in MARKERS:
        shown = sees(user, side) and chosen in ("nothing", f"plan-{side}")
        this = world.sides[side]
        plan_offered = ("plan__id__exact", str(this.plan.pk)) in choices
        if not sees(user, side):
            assert not plan_offered
        if user == "superuser":  # the plan filter hides itself with one plan to choose
            assert plan_offered
        assert (("objective", str(this.objective.pk)) in choices) == shown
        assert (("period", str(this.period.pk)) in choices) == shown
        assert (("organisation", str(this.organisation.pk)) in choices) == shown
    assert_nothing_foreign(response, user)


# --- Changes: who may, and that a refusal leaves the data as it was --------------------------

REFUSED = "refused"
CHANGED = "changed"
# Who changes A's action, by each door. B's coordinator is never of A.
CHANGE_CELLS = {
    "member_a": REFUSED,
    "coord_a": CHANGED,
    "coord_b": REFUSED,
    "superuser": CHANGED,
}


def change_cells(*, sides=("A",)):
    for side in sides:
        for user, outcome in CHANGE_CELLS.items():
            if side == "B" and user != "superuser":
                continue
            yield pytest.param(user, side, outcome, id=f"{user}-{side}")


def action_change_url(world, side="A"):
    return reverse("admin:actions_action_change", args=[world.sides[side].action.pk])


def assert_change(world, side, before, outcome, response):
    after = action_state(world, side)
    if outcome == REFUSED:
        assert response.status_code in (200, 302, 400, 403, 404), response.status_code
        if response.status_code == 302:
            assert response["Location"] in (reverse("admin:index"), ACTIONS)
        # 400: the list's formset names rows that are not in her list.
        assert after == before, "the refused change reached the database"
    else:
        assert response.status_code == 302, response.status_code
        assert after != before


@pytest.mark.parametrize(("user", "side", "outcome"), list(change_cells(sides="AB")))
def test_post_action_change_form(world, user, side, outcome):
    rendered = client_of(world, "superuser").get(action_change_url(world, side))
    data = change_form_data(rendered)
    data["title"] = f"Titre changé par {user}"
    before = action_state(world, side)

    response = client_of(world, user).post(action_change_url(world, side), data)

    assert_change(world, side, before, outcome, response)
    if outcome == CHANGED:
        assert Action.objects.get(pk=world.sides[side].action.pk).title == data["title"]


@pytest.mark.parametrize(("user", "side", "outcome"), list(change_cells(sides="AB")))
def test_post_action_history_revert(world, user, side, outcome):
    action = world.sides[side].action
    url = reverse("admin:actions_action_simple_history", args=[action.pk, first_version(action)])
    data = form_data(client_of(world, "superuser").get(url).context["adminform"].form)
    # A change with it: a revert form posted back untouched saves nothing (an unchanged form
    # is not saved).
    data["means"] = f"Retour à la première version, par {user}"
    before = action_state(world, side)

    response = client_of(world, user).post(url, data)

    assert_change(world, side, before, outcome, response)
    if outcome == CHANGED:
        assert Action.objects.get(pk=action.pk).title.endswith("(première version)")


def revert_cells():
    """Every model's revert form, posted by who may read the object but not change it: the
    member (her coalition's object), B's coordinator (A's), A's coordinator (the theme)."""
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        if label not in PLAN_DATA or "simple_history" not in model_views(model_admin):
            continue
        side = "A" if "A" in sides_of(label) else sides_of(label)[0]
        users = ["member_a", "coord_b"] + (["coord_a"] if label in PROVINCE_WIDE else [])
        for user in users:
            cell = f"{url_name(model, 'simple_history')}-POST-{user}-{side}"
            yield pytest.param(label, user, side, id=cell)


@pytest.mark.parametrize(("label", "user", "side"), list(revert_cells()))
def test_post_revert_refused_to_who_may_not_change(world, label, user, side):
    target = obj(world, label, side)
    url = admin_url(world, label, "simple_history", side)
    data = form_data(client_of(world, "superuser").get(url).context["adminform"].form)
    # What a reader's form still lets through: an empty version (no stale check), a note.
    data.update(loaded_version="", status_note=f"Note de {user}")
    history = type(target).history.filter(id=target.pk).count()

    response = client_of(world, user).post(url, data)

    saved = type(target).history.filter(id=target.pk).count() != history
    assert not saved, f"{user} saved the old version ({response.status_code})"
    assert response.status_code in (302, 403, 404)
    assert_nothing_foreign(response, user)


@pytest.mark.parametrize(("user", "side", "outcome"), list(change_cells()))
def test_post_action_delete(world, user, side, outcome):
    action = world.sides[side].action
    url = reverse("admin:actions_action_delete", args=[action.pk])

    response = client_of(world, user).post(url, {"post": "yes"})

    if outcome == REFUSED:
        assert response.status_code in (302, 403, 404)
        assert Action.objects.filter(pk=action.pk).exists()
    else:
        assert response.status_code == 302
        assert not Action.objects.filter(pk=action.pk).exists()


ALL_STAFF = ["member_a", "coord_a", "coord_b", "superuser"]


@pytest.mark.parametrize("user", ALL_STAFF)
@pytest.mark.parametrize("door", ["change", "delete", "bulk_delete"])
def test_post_a_trail_entry_is_changed_or_deleted_by_nobody(world, door, user):
    """The trail is a record members rely on: no one rewrites or removes an entry in the
    admin, superusers included."""
    note = world.sides["A"].note
    before = (note.text, note.date, ProgressNote.objects.count())
    if door == "change":
        url = reverse("admin:actions_progressnote_change", args=[note.pk])
        data = {"action": note.action_id, "date": "2001-01-01", "kind": "note", "text": "Réécrit"}
    elif door == "delete":
        url = reverse("admin:actions_progressnote_delete", args=[note.pk])
        data = {"post": "yes"}
    else:
        url = reverse("admin:actions_progressnote_changelist")
        data = {"action": "delete_selected", "_selected_action": [note.pk], "post": "yes"}

    response = client_of(world, user).post(url, data)

    assert response.status_code in (200, 302, 403, 404), response.status_code
    note.refresh_from_db()
    assert (note.text, note.date, ProgressNote.objects.count()) == before


@pytest.mark.parametrize(("user", "side", "outcome"), list(change_cells(sides="AB")))
def test_post_a_trail_entry_s_correction(world, user, side, outcome):
    note = world.sides[side].note
    url = reverse("admin:actions_progressnote_correct", args=[note.pk])
    before = ProgressNote.objects.filter(corrects=note).count()

    response = client_of(world, user).post(url, {"text": f"Correction par {user}"})

    after = ProgressNote.objects.filter(corrects=note).count()
    if outcome == REFUSED:
        assert response.status_code in (302, 403, 404), response.status_code
        assert after == before
    else:
        assert response.status_code == 302, response.status_code
        assert after == before + 1


@pytest.mark.parametrize(("user", "side", "outcome"), list(change_cells()))
def test_post_recover_deleted_action(world, user, side, outcome):
    action_pk, deletion = world.sides[side].trash["actions.Action"]
    url = reverse("admin:actions_action_recover", args=[deletion])

    response = client_of(world, user).post(url)

    if outcome == REFUSED:
        assert response.status_code in (302, 403), response.status_code
        if response.status_code == 302:
            assert response["Location"] == reverse("admin:actions_action_recover_list")
    else:
        assert response.status_code == 302
    assert Action.objects.filter(pk=action_pk).exists() == (outcome == CHANGED)
    assert_nothing_foreign(response, user)


@pytest.mark.parametrize(("user", "side", "outcome"), list(change_cells()))
def test_post_bulk_change_status(world, user, side, outcome):
    data = {
        "action": "change_status_action",
        "_selected_action": [str(world.sides[side].action.pk)],
        "apply": "Changer le statut",
        "status": Action.Status.DONE,
        "reason": "",
        "note": "",
        "date": "2019-06-15",
    }
    before = action_state(world, side)

    response = client_of(world, user).post(ACTIONS, data)

    assert_change(world, side, before, outcome, response)


@pytest.mark.parametrize(("user", "side", "outcome"), list(change_cells()))
def test_post_action_update_page(world, user, side, outcome):
    """The update page, posted by each: only who may change the action changes its status
    and its trail. (It took over from the list's editable status.)"""
    url = reverse("admin:actions_action_update", args=[world.sides[side].action.pk])
    rendered = client_of(world, "superuser").get(url)
    data = form_data(rendered.context["form"])
    data.update(status=Action.Status.IN_PROGRESS, note=f"Démarrée par {user}")
    before = action_state(world, side)

    response = client_of(world, user).post(url, data)

    assert_change(world, side, before, outcome, response)
    assert_nothing_foreign(response, user)


def xlsx_table():
    book = Workbook()
    sheet = book.active
    sheet.append(["Code", "Action", "Moyens d'action et conditions de réalisation"])
    sheet.append(["1", "Objectif importé"])
    sheet.append(["1.1", "Sous-objectif importé"])
    sheet.append(["1.1.9", "Action importée par intrusion", "Des moyens"])
    stream = io.BytesIO()
    book.save(stream)
    return SimpleUploadedFile("plan.xlsx", stream.getvalue())


@pytest.mark.parametrize(("user", "side", "outcome"), list(change_cells()))
def test_post_plan_import_table(world, user, side, outcome, settings, tmp_path):
    settings.TABLE_IMPORT_DIR = tmp_path
    plan = world.sides[side].plan
    url = reverse("admin:plans_plan_import_table", args=[plan.pk])
    client = client_of(world, user)
    actions = Action.objects.filter(plan=plan).count()

    response = client.post(url, {"step": "upload", "file": xlsx_table()})
    confirmed = client.post(url, {"step": "confirm"})

    if outcome == REFUSED:
        for answer in (response, confirmed):
            assert_outcome(answer, DENIED if user == "member_a" else HIDDEN)
        kept = [path for path in tmp_path.rglob("*") if path.is_file()]
        assert not kept, "the file of someone refused was kept"
    else:
        assert response.status_code == 200
        assert 'name="token"' in body(response)
    assert Action.objects.filter(plan=plan).count() == actions
    assert_nothing_foreign(response, user)


def csv_upload(rows, header, name="donnees.csv"):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode())


def import_and_confirm(client, model_name, upload):
    """Upload, then confirm the preview if there is one to confirm."""
    import_url = reverse(f"admin:{model_name}_import")
    preview = client.post(import_url, {"resource": "0", "format": "0", "import_file": upload})
    confirm_form = (preview.context or {}).get("confirm_form")
    if preview.status_code != 200 or confirm_form is None:
        return preview, None
    data = {name: confirm_form[name].value() for name in confirm_form.fields}
    return preview, client.post(reverse(f"admin:{model_name}_process_import"), data)


@pytest.mark.parametrize(("user", "side", "outcome"), list(change_cells()))
def test_post_action_import(world, user, side, outcome):
    """A CSV naming A's plan: updates A's action 1.1.1 and adds 1.1.9."""
    this = world.sides[side]
    rows = [
        {
            "plan": this.plan.slug,
            "code": this.action.code,
            "titre": f"Titre importé par {user}",
            "moyens": this.action.means,
            "statut": "À venir",
            "périodes": this.period.label,
        },
        {"plan": this.plan.slug, "code": "1.1.9", "titre": "Action importée", "statut": "À venir"},
    ]
    before = action_state(world, side)
    count = Action.objects.filter(plan=this.plan).count()

    preview, confirmed = import_and_confirm(
        client_of(world, user), "actions_action", csv_upload(rows, ACTION_HEADER)
    )

    if outcome == REFUSED:
        wrongs = []
        if action_state(world, side) != before:
            wrongs.append("the import changed the other coalition's action")
        if Action.objects.filter(plan=this.plan).count() != count:
            wrongs.append("the import added an action to the other coalition's plan")
        # The preview may echo what she typed, such as the plan's identifier: nothing else.
        shown = without_values(body(preview), rows)
        if any(m.casefold() in shown.casefold() for m in foreign_markers(user)):
            wrongs.append("the preview shows the other coalition's action")
        assert not wrongs, "; ".join(wrongs)
    else:
        assert confirmed is not None and confirmed.status_code == 302
        assert Action.objects.get(pk=this.action.pk).title == f"Titre importé par {user}"
        assert_nothing_foreign(preview, user)


def without_values(page, rows):
    """The page without the values of the uploaded rows, however the page escapes them."""
    for row in rows:
        for value in row.values():
            for form in {value, escape(value), escape(value).replace("&#x27;", "&#39;")}:
                page = page.replace(form, "")
    return page


ORGANISATION_HEADER = ["nom", "nom court", "type", "coalition", "notes"]


def organisation_row(organisation, coalition, notes):
    return {
        "nom": organisation.name,
        "nom court": organisation.short_name,
        "coalition": coalition.slug,
        "notes": notes,
    }


def organisation_state(organisation):
    found = Organisation.objects.get(pk=organisation.pk)
    return found.notes, found.coalition_id, found.history.count()


@pytest.mark.parametrize(("user", "side", "outcome"), list(change_cells()))
def test_post_organisation_import(world, user, side, outcome):
    """A CSV naming A's own organisation (organisations are matched by name): new notes."""
    organisation = world.sides[side].organisation
    row = organisation_row(organisation, world.sides[side].coalition, f"Notes de {user}")
    before = organisation_state(organisation)

    import_and_confirm(
        client_of(world, user),
        "partners_organisation",
        csv_upload([row], ORGANISATION_HEADER),
    )

    after = organisation_state(organisation)
    if outcome == REFUSED:
        assert after == before, "the import changed the other's organisation"
    else:
        assert after[0] == row["notes"]


def test_coordinator_cannot_import_her_organisation_into_the_other_coalition(world):
    """The form offers her own coalitions only; the import must not do more."""
    organisation = world.sides["A"].organisation
    row = organisation_row(organisation, world.sides["B"].coalition, "Passée chez B")
    before = organisation_state(organisation)

    import_and_confirm(
        client_of(world, "coord_a"),
        "partners_organisation",
        csv_upload([row], ORGANISATION_HEADER),
    )

    assert organisation_state(organisation) == before


EXPORTS = [
    model_admin.model._meta.label
    for model_admin in admin.site._registry.values()
    if isinstance(model_admin, ExportMixin)
]


@pytest.mark.parametrize("user", ["member_a", "coord_a", "coord_b", "superuser"])
@pytest.mark.parametrize("label", EXPORTS)
def test_export_holds_only_her_coalitions_rows(world, label, user):
    url = reverse(url_name(apps.get_model(label), "export"))
    client = client_of(world, user)
    data = form_data(client.get(url).context["form"])
    data["format"] = "0"  # CSV
    del data["export_items"]  # only for an export of the rows ticked in the list

    response = client.post(url, data)

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    text = readable_text(response).casefold()
    for marker in own_markers(user):
        assert marker.casefold() in text
    assert_nothing_foreign(response, user)


# --- Reaching into the other coalition through a form of one's own ---------------------------


# What coord_a slips into a form of hers, and the field that must refuse it.
REACH_CELLS = [
    pytest.param("related_actions", "related_actions", id="action-related-to-B-action"),
    pytest.param("periods", "periods", id="action-in-B-period"),
    pytest.param("sub_objective", "sub_objective", id="action-moved-to-B-sub-objective"),
    pytest.param("partner", "organisation", id="action-partner-is-B-organisation"),
    pytest.param("link_add", "action", id="actionpartner-add-on-B-action"),
    pytest.param("target_add", "action", id="target-add-on-B-action"),
    pytest.param("plan_add", "coalition", id="plan-add-in-B-coalition"),
    pytest.param("review_presented_at", "presented_at", id="review-presented-at-B-assembly"),
]


def fields_in_error(response):
    """The names of the fields refused, in the form and in its inlines' rows."""
    refused = set(response.context["adminform"].form.errors)
    for inline in response.context["inline_admin_formsets"]:
        for errors in inline.formset.errors:
            refused |= set(errors)
    return refused


def reach(world, case):
    """(url, data, probe): probe() counts what would be there if the post got through."""
    a, b = world.sides["A"], world.sides["B"]
    coord_a = client_of(world, "coord_a")
    if case in ("related_actions", "periods", "sub_objective", "partner"):
        url = reverse("admin:actions_action_change", args=[a.action.pk])
        data = change_form_data(coord_a.get(url))
        if case == "related_actions":
            data["related_actions"] = [str(b.action.pk)]
            return url, data, lambda: a.action.related_actions.filter(pk=b.action.pk).count()
        if case == "periods":
            data["periods"] = [str(a.period.pk), str(b.period.pk)]
            return url, data, lambda: a.action.periods.filter(pk=b.period.pk).count()
        if case == "sub_objective":
            data["sub_objective"] = str(b.sub_objective.pk)
            return url, data, lambda: Action.objects.filter(sub_objective=b.sub_objective).count()
        prefix = "partner_links"
        row = int(data[f"{prefix}-INITIAL_FORMS"])
        data[f"{prefix}-{row}-organisation"] = str(b.organisation.pk)
        return url, data, lambda: b.organisation.action_links.count()
    if case == "link_add":
        url = reverse("admin:partners_actionpartner_add")
        data = change_form_data(coord_a.get(url))
        data.update(action=str(b.action.pk), organisation=str(world.shared.pk))
        return url, data, lambda: b.action.partner_links.count()
    if case == "target_add":
        url = reverse("admin:actions_target_add")
        data = change_form_data(coord_a.get(url))
        data.update(action=str(b.action.pk), description="Cible glissée", kind="deliverable")
        return url, data, lambda: Target.objects.filter(action=b.action).count()
    if case == "plan_add":
        url = reverse("admin:plans_plan_add")
        data = change_form_data(coord_a.get(url))
        data.update(
            coalition=str(b.coalition.pk),
            title="Plan glissé",
            slug="plan-glisse",
            kind=Plan.Kind.OPERATIONAL,
            start="2020-01-01",
            end="2021-01-01",
        )
        return url, data, lambda: Plan.objects.filter(coalition=b.coalition).count()
    url = reverse("admin:plans_review_change", args=[a.review.pk])
    data = change_form_data(coord_a.get(url))
    data["presented_at"] = str(b.assembly.pk)
    return url, data, lambda: Review.objects.filter(presented_at=b.assembly).count()


@pytest.mark.parametrize(("case", "field"), REACH_CELLS)
def test_coordinator_cannot_reach_the_other_coalition_through_her_forms(world, case, field):
    url, data, probe = reach(world, case)
    before = probe()

    response = client_of(world, "coord_a").post(url, data)

    assert response.status_code == 200, "the form was accepted"
    assert field in fields_in_error(response)
    assert probe() == before


# --- Themes, coalitions, and the shared organisation -----------------------------------------


@pytest.mark.parametrize(
    ("user", "expected"),
    [("member_a", 403), ("coord_a", 403), ("coord_b", 403), ("superuser", 302)],
)
@pytest.mark.parametrize("door", ["change", "add", "delete"])
def test_post_theme(world, door, user, expected):
    theme = world.theme
    if door == "add":
        url = reverse("admin:plans_theme_add")
        data = change_form_data(client_of(world, "superuser").get(url))
        data.update(code="nouveau", name="Nouveau thème")
    elif door == "change":
        url = reverse("admin:plans_theme_change", args=[theme.pk])
        data = change_form_data(client_of(world, "superuser").get(url))
        data["name"] = "Thème renommé"
    else:
        url = reverse("admin:plans_theme_delete", args=[theme.pk])
        data = {"post": "yes"}
    themes = list(Theme.objects.values_list("pk", "code", "name").order_by("pk"))

    response = client_of(world, user).post(url, data)

    assert response.status_code == expected
    changed = list(Theme.objects.values_list("pk", "code", "name").order_by("pk")) != themes
    assert changed == (user == "superuser")


@pytest.mark.parametrize(
    ("user", "side", "expected"),
    [
        ("member_a", "A", DENIED),
        ("coord_a", "A", REDIRECT),  # saved, back to the list
        ("coord_a", "B", HIDDEN),
        ("coord_b", "A", HIDDEN),
        ("superuser", "B", REDIRECT),
    ],
)
def test_post_coalition_change(world, user, side, expected):
    coalition = world.sides[side].coalition
    url = reverse("admin:plans_coalition_change", args=[coalition.pk])
    data = change_form_data(client_of(world, "superuser").get(url))
    data["description"] = f"Décrite par {user}"

    response = client_of(world, user).post(url, data)

    assert_outcome(response, expected)
    saved = Coalition.objects.get(pk=coalition.pk).description == data["description"]
    assert saved == (expected == REDIRECT)


@pytest.mark.parametrize(("user", "expected"), [("coord_a", 403), ("superuser", 302)])
@pytest.mark.parametrize("door", ["add", "delete"])
def test_post_coalition_add_or_delete(world, door, user, expected):
    if door == "add":
        url = reverse("admin:plans_coalition_add")
        data = change_form_data(client_of(world, "superuser").get(url))
        data.update(name="Nouvelle coalition", slug="nouvelle-coalition")
    else:
        # Hers, and empty so that nothing PROTECTs it: the refusal must be the permission's.
        empty = Coalition.objects.create(name="Coalition vide", slug="coalition-vide")
        empty.memberships.create(user=world.users["coord_a"])
        url = reverse("admin:plans_coalition_delete", args=[empty.pk])
        data = {"post": "yes"}
    coalitions = Coalition.objects.count()

    response = client_of(world, user).post(url, data)

    assert response.status_code == expected
    assert (Coalition.objects.count() != coalitions) == (user == "superuser")


def test_coordinator_cannot_delete_a_shared_organisation_other_coalitions_use(world):
    """Its links to B's actions stand in the way, and the page does not say which they are."""
    url = reverse("admin:partners_organisation_delete", args=[world.shared.pk])
    links = ActionPartner.objects.filter(organisation=world.shared).count()

    page = client_of(world, "coord_a").get(url)
    response = client_of(world, "coord_a").post(url, {"post": "yes"})

    assert page.status_code == 200
    assert response.status_code in (200, 403)  # the refusal page, or refused outright
    for answer in (page, response):
        assert_nothing_foreign(answer, "coord_a")
    assert Organisation.objects.filter(pk=world.shared.pk).exists()
    assert ActionPartner.objects.filter(organisation=world.shared).count() == links


def test_the_world_is_what_the_matrix_assumes(world):
    """Each user's seat, and the shared organisation linked to both coalitions."""
    for user, side in HOME.items():
        seats = set(world.users[user].memberships.values_list("coalition__slug", flat=True))
        assert seats == {world.sides[side].coalition.slug}
    linked = set(world.shared.action_links.values_list("action__plan__coalition", flat=True))
    assert linked == {world.sides[side].coalition.pk for side in MARKERS}
    assert world.shared.coalition_id is None
