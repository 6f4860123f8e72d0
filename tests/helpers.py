"""What several test modules share: the named users, posting an admin form back as a browser
would, counting a page's queries as the plan grows, logging in in a real browser.

Fixtures live in the conftest.py files; test modules never import from one another."""

import contextlib
import datetime
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace

from django.contrib.auth.models import Group
from django.db.models.signals import post_save
from django.forms import MultiWidget
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect
from simple_history.utils import bulk_create_with_history

from actions.models import Action, Target, TargetValue
from actions.services import change_status
from plans.groups import COORDINATION
from plans.models import (
    Assembly,
    Coalition,
    Membership,
    Review,
    ReviewFunding,
    ReviewItem,
    ReviewMeeting,
    ReviewStaff,
)
from tests.factories import (
    CoalitionFactory,
    TargetFactory,
    TargetValueFactory,
    ThemeFactory,
    build_plan,
)

PASSWORD = "mot-de-passe-de-test"

# The machine's temporary directory, read before tests/conftest.py gives each pytest-xdist
# worker one of its own: what must outlive a run (hypothesis's examples) is kept here.
MACHINE_TEMP = tempfile.gettempdir()

# Browser tests drive Debian's Chromium; Playwright's own browser download is never used.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
]
SHOTS = Path("/tmp/browser-shots")


# --- People ----------------------------------------------------------------------------------


def make_user(django_user_model, username, group=None, is_staff=None):
    """A person in `group`. Only coordinators enter the back-office by default (is_staff),
    as setup_demo makes them: a member does when a coordinator grants it."""
    if is_staff is None:
        is_staff = group == COORDINATION
    user = django_user_model.objects.create_user(
        username=username, password=PASSWORD, is_staff=is_staff
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def logs_in(client, username, password):
    """Whether the login page lets this person in, as she would log in (with django-axes
    counting the attempt, which Client.login() would bypass)."""
    response = client.post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


@contextlib.contextmanager
def member_of_every_coalition(user):
    """`user` is a member of every coalition the test has or creates meanwhile."""

    def join(sender, instance, created, **kwargs):
        if created:
            Membership.objects.get_or_create(coalition=instance, user=user)

    for coalition in Coalition.objects.all():
        join(Coalition, coalition, created=True)
    uid = f"joins-{user.pk}"
    post_save.connect(join, sender=Coalition, weak=False, dispatch_uid=uid)
    try:
        yield user
    finally:
        post_save.disconnect(sender=Coalition, dispatch_uid=uid)


# --- Posting a rendered admin form back, as a browser would ----------------------------------


def form_data(form):
    """The values a browser would post for `form` as rendered (unchecked boxes left out)."""
    data = {}
    for field in form:
        value = field.value()
        widget = field.field.widget
        if isinstance(widget, MultiWidget):  # e.g. the list's status and the status seen
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            for suffix, part in zip(widget.widgets_names, parts, strict=True):
                data[field.html_name + suffix] = "" if part is None else str(part)
            continue
        if value is False or (value is None and getattr(widget, "allow_multiple_selected", False)):
            continue  # an unticked box, or boxes none of which is ticked
        if value is True:
            value = "on"
        elif value is None:
            value = ""
        elif isinstance(value, list | tuple):
            value = [str(item) for item in value]
        elif isinstance(value, datetime.date):
            value = value.isoformat()
        data[field.html_name] = value if isinstance(value, list) else str(value)
        if field.field.show_hidden_initial:
            data[field.html_initial_name] = data[field.html_name]
    return data


def formset_data(formset):
    data = form_data(formset.management_form)
    for form in formset.forms:
        data.update(form_data(form))
    return data


def change_form_data(response):
    """The whole change form as rendered: the action's fields and every inline's rows."""
    data = form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        data.update(formset_data(inline.formset))
    return data


def row_index(data, prefix, pk):
    """Index of the inline row of object `pk` in the posted data."""
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    return next(i for i in range(total) if data.get(f"{prefix}-{i}-id") == str(pk))


# --- Query counts that must not grow with the plan -------------------------------------------

# (actions in the plan, partners, targets, values, related actions and edits per action)
SIZES = [(5, 1), (60, 3)]


def rich_plan(*, actions, per_action, author, theme):
    """build_plan with everything a page reads, `per_action` of each kind on every action:
    partners, counted targets with their values, related actions, notes and edits in its
    history; plus themes, a review and an assembly."""
    coalition = CoalitionFactory()
    Membership.objects.create(coalition=coalition, user=author)
    Assembly.objects.create(
        coalition=coalition, date=timezone.localdate() - datetime.timedelta(days=10)
    )
    plan, created = build_plan(
        actions=actions, coalition=coalition, partners_per_action=per_action
    )
    review = Review.objects.create(
        plan=plan, title="Bilan", start=datetime.date(2017, 4, 1), end=datetime.date(2018, 3, 31)
    )
    for order in range(per_action):
        ReviewFunding.objects.create(review=review, funder=f"Bailleur {order}", amount=1000)
        ReviewMeeting.objects.create(review=review, body=f"Comité {order}", count=2)
        ReviewStaff.objects.create(review=review, role=f"Rôle {order}")
        ReviewItem.objects.create(review=review, kind=ReviewItem.Kind.RESULT, text="Fait.")
    # Themes and related actions in two bulk inserts: through add() each link wrote history
    # records of both its ends, half of this function's time; the edits below still record
    # them in every action's history.
    Action.themes.through.objects.bulk_create(
        Action.themes.through(action_id=action.pk, theme_id=theme.pk) for action in created
    )
    Action.related_actions.through.objects.bulk_create(
        Action.related_actions.through(from_action_id=source.pk, to_action_id=target.pk)
        for index, action in enumerate(created)
        for earlier in created[max(0, index - per_action) : index]
        for source, target in ((action, earlier), (earlier, action))  # symmetrical: both rows
    )
    # Targets and their values likewise, each with its history record all the same.
    targets = bulk_create_with_history(
        [
            TargetFactory.build(action=action, kind=Target.Kind.COUNT, target_value=10)
            for action in created
            for _order in range(per_action)
        ],
        Target,
    )
    bulk_create_with_history(
        [
            value
            for target in targets
            for value in (
                TargetValueFactory.build(target=target, value=3, date=datetime.date(2017, 1, 1)),
                TargetValueFactory.build(target=target, value=7),
            )
        ],
        TargetValue,
    )
    for action in created:
        for order in range(per_action):
            action.title = f"{action.title} ({order})"
            change_status(
                action=action,
                status=Action.Status.IN_PROGRESS,
                user=author,
                note=f"Démarrée, étape {order}.",
            )
    return SimpleNamespace(
        plan=plan,
        action=created[1],
        organisation=created[1].partner_links.first().organisation,
        theme=theme,
    )


def query_counts(client, author, assert_max_queries, *, address, cap, check):
    """The queries of one page at both SIZES of rich_plan, each under `cap`, once the
    per-process caches are warm; `check(response, data, actions)` asserts it is a real page."""
    client.force_login(author)
    theme = ThemeFactory()
    counts = []
    for actions, per_action in SIZES:
        data = rich_plan(actions=actions, per_action=per_action, author=author, theme=theme)
        client.get(address(data))  # warm the per-process caches
        # `captured` is a django.test.utils.CaptureQueriesContext.
        with assert_max_queries(cap) as captured:
            response = client.get(address(data))
            if response.streaming:  # its queries run while it is read: count them too
                response.streamed = b"".join(response.streaming_content)
        check(response, data, actions)
        counts.append(len(captured))
    return counts


# --- In a real browser: the seeded CASAL plan (the `casal` fixture of tests/conftest.py) -----

PLAN_SLUG = "casal-2016-2020"
PLAN_TITLE = "Plan d'action opérationnel du CASAL 2016-2020"
PLAN_PATH = f"/plans/{PLAN_SLUG}/"
STARTED = "1.1.1"  # the action the coordinator starts; the CSDL is one of its partners


def shoot(page, name):
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def fill_login_form(page, username):
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


def log_in(page, user, path="/"):
    """Log in through the dashboard's login page, then land on `path`."""
    page.goto(f"/comptes/login/?next={path}")
    fill_login_form(page, user.username)
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))


# --- Accessibility -------------------------------------------------------------------------

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page, impacts=("critical", "serious")):
    """What axe-core (npm, package.json) finds on the page, of these impacts, one readable
    line per rule. The page's context needs bypass_csp=True for the script to run. Without
    `npm ci` the test is skipped, except in CI where it fails."""
    import os

    import pytest

    if not AXE.exists():
        reason = f"axe-core is not installed at {AXE} (npm ci)"
        if "CI" in os.environ:
            pytest.fail(f"{reason}; CI never skips the accessibility tests.", pytrace=False)
        pytest.skip(reason)
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return [
        f"{v['impact']} {v['id']}: {v['help']} {v['nodes']}"
        for v in found
        if v["impact"] in impacts
    ]
