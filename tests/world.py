"""The A/B world, the `coalitions` fixture of tests/conftest.py: two coalitions that must
never see each other's data, an organisation they share, a theme of the province, and the
people who knock on every door. The permission matrix (tests/test_permissions.py) and the
dashboard's access tests (tests/dashboard/test_access.py) read it.

Everything of coalition A carries the word "Ananas" (titles, names, slugs), everything of
coalition B "Bergamote": a page that shows one of these words to someone who is not of that
coalition has leaked. The names read as the access tests say them too: "Coalition Ananas" is
"Coalition A", "Plan de la coalition Ananas" is "Plan de la coalition A". Each coalition also
has one deleted object of every kind the admin's trash lists (`side.trash`).

The people: the member of A (group Membres, a seat at A with A's organisation), the
coordinators of A and of B (group Coordination, a seat at their own coalition), a superuser,
and an outsider (an account, no group and no seat).
"""

import datetime
import io
from decimal import Decimal
from types import SimpleNamespace

import openpyxl
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from pypdf import PdfReader

from actions.models import Action, Target
from partners.models import ActionPartner
from plans.groups import COORDINATION, MEMBERS
from plans.models import (
    Assembly,
    Membership,
    Review,
    ReviewFunding,
    ReviewItem,
    ReviewMeeting,
    ReviewStaff,
)
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    CoalitionFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PeriodFactory,
    PlanFactory,
    ProgressNoteFactory,
    SubObjectiveFactory,
    TargetFactory,
    TargetValueFactory,
    ThemeFactory,
)
from tests.helpers import PASSWORD, make_user

MARKERS = {"A": "Ananas", "B": "Bergamote"}
# The matrix's people; the world also has an outsider, whom the access tests ask.
USERS = ["anon", "member_a", "coord_a", "coord_b", "superuser"]
# The coalition each named user is a member of; the superuser reads all, anon none.
HOME = {"member_a": "A", "coord_a": "A", "coord_b": "B"}

# Whose rows each plan-data model holds, written out here rather than read from the code this
# matrix checks (access/coalitions.py reads the models' declarations; tests/access compares).
# Model label → its lookup to the coalition ("" for the coalition itself).
COALITION_PATHS = {
    "plans.Coalition": "",
    "plans.Membership": "coalition",
    "plans.Plan": "coalition",
    "plans.Period": "plan__coalition",
    "plans.Objective": "plan__coalition",
    "plans.SubObjective": "objective__plan__coalition",
    "plans.Assembly": "coalition",
    "plans.Review": "plan__coalition",
    "plans.ReviewMeeting": "review__plan__coalition",
    "plans.ReviewFunding": "review__plan__coalition",
    "plans.ReviewStaff": "review__plan__coalition",
    "plans.ReviewItem": "review__plan__coalition",
    "actions.Action": "plan__coalition",
    "actions.Target": "action__plan__coalition",
    "actions.TargetValue": "target__action__plan__coalition",
    "actions.ProgressNote": "action__plan__coalition",
    "partners.ActionPartner": "action__plan__coalition",
}
# An organisation works with several coalitions; themes are the province's vocabulary.
SHARED = {"partners.Organisation"}
PROVINCE_WIDE = {"plans.Theme"}
# The apps that hold them, whose permissions the two groups get.
PLAN_DATA_APPS = ("plans", "actions", "partners")
# Models whose rows belong to coalitions, to all of them (shared), or to the province.
PLAN_DATA = set(COALITION_PATHS) | SHARED | PROVINCE_WIDE
# The world's object of each plan-data model, as an attribute of its coalition's side.
SIDE_ATTRIBUTES = {
    "plans.Coalition": "coalition",
    "plans.Membership": "membership",
    "plans.Plan": "plan",
    "plans.Period": "period",
    "plans.Objective": "objective",
    "plans.SubObjective": "sub_objective",
    "plans.Assembly": "assembly",
    "plans.Review": "review",
    "plans.ReviewMeeting": "meeting",
    "plans.ReviewFunding": "funding",
    "plans.ReviewStaff": "staff",
    "plans.ReviewItem": "item",
    "actions.Action": "action",
    "actions.Target": "target",
    "actions.TargetValue": "value",
    "actions.ProgressNote": "note",
    "partners.Organisation": "organisation",
    "partners.ActionPartner": "link",
}


def sides_of(label):
    """The objects a model offers to the matrix: A's and B's, plus the shared organisation
    (S); the province's theme (T); "*" for models outside the plan data (auth, axes…)."""
    if label in PROVINCE_WIDE:
        return ["T"]
    if label in SHARED:
        return ["A", "B", "S"]
    if label in PLAN_DATA:
        return ["A", "B"]
    return ["*"]


def sees(user, side):
    """Whether `user` may read the object of `side` (superusers: everything)."""
    if user == "superuser":
        return True
    if user == "anon":
        return False
    return side in ("S", "T", "*") or side == HOME[user]


def foreign_markers(user):
    """The words that must never reach `user`: the coalitions she is not a member of."""
    if user == "superuser":
        return []
    return [marker for side, marker in MARKERS.items() if side != HOME.get(user)]


def own_markers(user):
    if user == "superuser":
        return list(MARKERS.values())
    return [MARKERS[HOME[user]]] if user in HOME else []


# --- Building it -----------------------------------------------------------------------------


def build_side(side, theme, shared):
    marker = MARKERS[side]
    slug = marker.lower()
    coalition = CoalitionFactory(
        name=f"Coalition {marker}", short_name=marker[:3].upper(), slug=f"coalition-{slug}"
    )
    plan = PlanFactory(
        coalition=coalition, title=f"Plan de la coalition {marker}", slug=f"plan-{slug}"
    )
    period = PeriodFactory(plan=plan, label=f"Période {marker}")
    objective = ObjectiveFactory(plan=plan, number=1, title=f"Objectif {marker}")
    sub_objective = SubObjectiveFactory(
        objective=objective, number=1, title=f"Sous-objectif {marker}"
    )
    # Saved twice, so that its history has an older version to revert to.
    action = ActionFactory(
        sub_objective=sub_objective,
        code="1.1.1",
        title=f"Action propre à {marker} (première version)",
    )
    action.title = f"Action propre à {marker}"
    action.save()
    action.periods.set([period])
    action.themes.set([theme])
    target = TargetFactory(
        action=action, description=f"Cible {marker}", kind=Target.Kind.COUNT, target_value=10
    )
    value = TargetValueFactory(target=target, value=3, note=f"Valeur {marker}")
    note = ProgressNoteFactory(action=action, text=f"Note de suivi {marker}")
    organisation = OrganisationFactory(
        name=f"Organisme {marker}", short_name=f"ORG-{marker[:3].upper()}", coalition=coalition
    )
    link = ActionPartnerFactory(
        action=action, organisation=organisation, role=ActionPartner.Role.CARRIER
    )
    shared_link = ActionPartnerFactory(action=action, organisation=shared)
    assembly = Assembly.objects.create(
        coalition=coalition, date=datetime.date(2019, 6, 1), title=f"Assemblée {marker}"
    )
    review = Review.objects.create(
        plan=plan,
        title=f"Bilan {marker}",
        start=datetime.date(2017, 8, 1),
        end=datetime.date(2018, 5, 31),
        presented_at=assembly,
    )
    side_objects = SimpleNamespace(
        marker=marker,
        coalition=coalition,
        plan=plan,
        period=period,
        objective=objective,
        sub_objective=sub_objective,
        action=action,
        target=target,
        value=value,
        note=note,
        organisation=organisation,
        link=link,
        shared_link=shared_link,
        assembly=assembly,
        review=review,
        meeting=ReviewMeeting.objects.create(review=review, body=f"Comité {marker}", count=12),
        funding=ReviewFunding.objects.create(
            review=review, funder=f"Bailleur {marker}", amount=Decimal("1000")
        ),
        staff=ReviewStaff.objects.create(review=review, role=f"Coordination {marker}"),
        item=ReviewItem.objects.create(
            review=review, kind=ReviewItem.Kind.RESULT, text=f"Résultat {marker}"
        ),
        membership=None,
    )
    side_objects.trash = throw_away(side_objects)
    return side_objects


def throw_away(side):
    """One object of each kind the admin's trash lists, each deleted on its own:
    {model label: (pk, history_id of its deletion)}."""
    gone = f"{side.marker} supprimé"
    slug = f"{side.marker.lower()}-supprime"
    passing = OrganisationFactory(
        name=f"Organisme {side.marker} de passage", coalition=side.coalition
    )
    objects = [
        CoalitionFactory(name=f"Coalition {gone}", slug=f"coalition-{slug}"),
        PlanFactory(coalition=side.coalition, title=f"Plan {gone}", slug=f"plan-{slug}"),
        ObjectiveFactory(plan=side.plan, number=2, title=f"Objectif {gone}"),
        SubObjectiveFactory(objective=side.objective, number=2, title=f"Sous-objectif {gone}"),
        Assembly.objects.create(
            coalition=side.coalition, date=datetime.date(2020, 6, 1), title=f"Assemblée {gone}"
        ),
        Review.objects.create(
            plan=side.plan,
            title=f"Bilan {gone}",
            start=datetime.date(2019, 1, 1),
            end=datetime.date(2019, 12, 31),
        ),
        ActionFactory(sub_objective=side.sub_objective, code="1.1.2", title=f"Action {gone}"),
        TargetFactory(action=side.action, description=f"Cible {gone}"),
        ProgressNoteFactory(action=side.action, text=f"Note {gone}"),
        OrganisationFactory(name=f"Organisme {gone}", coalition=side.coalition),
        ActionPartnerFactory(action=side.action, organisation=passing),
    ]
    trash = {}
    for thrown in objects:
        model, object_pk = type(thrown), thrown.pk
        thrown.delete()
        deletion = model.history.filter(id=object_pk, history_type="-").latest("history_date")
        trash[model._meta.label] = (object_pk, deletion.history_id)
    return trash


def build_world():
    theme = ThemeFactory(name="Accès économique", code="theme-commun")
    # No coalition of its own, linked to actions of both coalitions.
    shared = OrganisationFactory(name="Organisme partagé", short_name="PARTAGE")
    world = SimpleNamespace(theme=theme, shared=shared)
    world.sides = {side: build_side(side, theme, shared) for side in MARKERS}
    model = get_user_model()
    world.users = {
        "anon": None,
        # A member whom a coordinator let into the back-office (members are not staff by
        # default: tests/backoffice/test_member_access.py): the matrix checks that there she
        # reads her coalition's data and changes nothing.
        "member_a": make_user(model, "membre_a", MEMBERS, is_staff=True),
        "coord_a": make_user(model, "coordo_a", COORDINATION),
        "coord_b": make_user(model, "coordo_b", COORDINATION),
        "superuser": model.objects.create_superuser(username="admin_total", password=PASSWORD),
        "outsider": make_user(model, "passant", is_staff=False),
    }
    for user, side in HOME.items():
        seat = Membership.objects.create(
            coalition=world.sides[side].coalition,
            user=world.users[user],
            organisation=world.sides[side].organisation,
        )
        if user.startswith("coord"):
            world.sides[side].membership = seat
    # One session each, opened once: a test only sends its cookie.
    world.sessions = {}
    for user, account in world.users.items():
        if account is not None:
            client = Client()
            client.force_login(account)
            world.sessions[user] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return world


# --- Reading it ------------------------------------------------------------------------------


def obj(world, label, side):
    """The world's object of model `label` on `side`; None if there is none (pk 0 then)."""
    if side == "T":
        return world.theme
    if side == "S":
        return world.shared
    if side in world.sides:
        return getattr(world.sides[side], SIDE_ATTRIBUTES[label])
    model = apps.get_model(label)
    if model is get_user_model():
        return world.users["superuser"]
    if model is Group:
        return Group.objects.get(name=COORDINATION)
    return model.objects.order_by("pk").first()


def pk(world, label, side):
    found = obj(world, label, side)
    return found.pk if found is not None else 0


def first_version(instance):
    """The history_id of `instance`'s oldest historical record."""
    return instance.history.order_by("history_date", "history_id").first().history_id


def client_of(world, user):
    """A browser logged in as `user` (with the session opened when the world was built)."""
    client = Client()
    if user in world.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[user]
    return client


def action_state(world, side):
    """What a refused change must leave as it was: the action's row and its history."""
    action = Action.objects.get(pk=world.sides[side].action.pk)
    return (
        action.title,
        action.status,
        action.updated_at,
        action.history.count(),
        action.notes.count(),
    )


def streamed_body(response):
    """A streamed response's bytes, read once (query_counts may have read them already)."""
    if not hasattr(response, "streamed"):
        response.streamed = b"".join(response.streaming_content)
    return response.streamed


def readable_text(response):
    """The text of a response's body: a workbook's cells, a PDF's text, or the page."""
    content_type = response.get("Content-Type", "")
    body = response.content if not response.streaming else streamed_body(response)
    if "spreadsheetml" in content_type:
        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        text = " ".join(
            str(cell)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in row
            if cell is not None
        )
    elif content_type.startswith("application/pdf") and body.startswith(b"%PDF"):
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    else:
        text = body.decode(errors="replace")
    return text
