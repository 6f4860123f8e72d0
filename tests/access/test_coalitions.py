"""Whose rows each plan-data model holds: declared once, on the model, and read from the app
registry by access/coalitions.py for the admin, the pages, the trash and the backups."""

from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from simple_history.models import HistoricalChanges

from access.coalitions import (
    COALITION,
    PROVINCE,
    SHARED,
    access_of,
    coalition_path,
    coalitions_of,
    plan_data_models,
    scope_q,
)
from backoffice.trash import restorable_models
from backups.backup import backup_models
from partners.models import Organisation
from plans.groups import PLAN_DATA_APPS
from plans.models import Coalition
from tests import world

# Not plan data: an uploaded table waits a few minutes for its import to be confirmed.
NOT_PLAN_DATA = {"plans.UploadedTable"}


def models_of_the_plan_data_apps():
    return [
        model
        for label in PLAN_DATA_APPS
        for model in apps.get_app_config(label).get_models()
        if not issubclass(model, HistoricalChanges) and model._meta.label not in NOT_PLAN_DATA
    ]


@pytest.mark.parametrize(
    "model", models_of_the_plan_data_apps(), ids=lambda model: model._meta.label
)
def test_every_plan_data_model_says_whose_its_rows_are(model):
    """Undeclared, its rows would be every coordinator's in the admin, and the trash and the
    permission matrix would skip them."""
    assert access_of(model) is not None, (
        f"{model._meta.label}: declare `coalition_path` on the model (access/coalitions.py)"
    )
    assert model in plan_data_models()


def test_a_half_declaration_is_refused():
    meta = SimpleNamespace(app_label="plans", label="plans.Vague")
    vague = type("Vague", (), {"_meta": meta, "coalition_path": None})
    with pytest.raises(ImproperlyConfigured, match=r"plans\.Vague"):
        access_of(vague)


@pytest.mark.parametrize(
    "model",
    [model for model in plan_data_models() if access_of(model) == COALITION],
    ids=lambda model: model._meta.label,
)
def test_each_coalition_path_leads_to_the_coalition_through_keys(model):
    current = model
    for hop in filter(None, coalition_path(model).split("__")):
        field = current._meta.get_field(hop)
        assert field.many_to_one, f"{model._meta.label}: {hop} is not a key"
        current = field.related_model
    assert current is Coalition


def test_the_declarations_are_those_the_permission_matrix_checks():
    declared = {model._meta.label: access_of(model) for model in plan_data_models()}
    paths = {
        label: coalition_path(apps.get_model(label))
        for label, access in declared.items()
        if access == COALITION
    }

    assert paths == world.COALITION_PATHS
    assert {label for label, access in declared.items() if access == SHARED} == world.SHARED
    assert {
        label for label, access in declared.items() if access == PROVINCE
    } == world.PROVINCE_WIDE


def referred_before(models):
    """The (model, model it refers to) pairs where the second does not come first."""
    position = {model: index for index, model in enumerate(models)}
    return [
        (model._meta.label, field.related_model._meta.label)
        for model in models
        for field in model._meta.concrete_fields
        if field.is_relation
        and field.related_model in position
        and field.related_model is not model
        and position[field.related_model] > position[model]
    ]


def test_the_trash_restores_every_coalitions_model_parents_first():
    """Each restored row's keys must find their rows already saved; themes are the
    province's, changed by superusers only, and have no trash."""
    restorable = restorable_models()

    assert {model._meta.label for model in restorable} == world.PLAN_DATA - world.PROVINCE_WIDE
    assert referred_before(restorable) == []


def test_the_backup_holds_every_plan_data_model_in_the_same_order():
    backed_up = backup_models()

    assert [model for model in backed_up if model in plan_data_models()] == list(
        plan_data_models()
    )
    assert referred_before(backed_up) == []


@pytest.mark.django_db
def test_the_walk_to_the_coalitions_and_the_admins_filter_agree():
    """An object belongs to the coalitions its walk finds (coalitions_of, for one object),
    and the admin's list of those coalitions shows it (scope_q, for a list), and no other."""
    built = world.build_world()
    a, b = (built.sides[side].coalition.pk for side in "AB")
    lonely = Organisation.objects.create(name="Organisme sans coalition ni action")
    for model in plan_data_models():
        label = model._meta.label
        if label in world.PROVINCE_WIDE:
            assert coalitions_of(built.theme) == set()
            assert scope_q(model, {a}) is None
            continue
        for side, coalition in (("A", a), ("B", b)):
            obj = world.obj(built, label, side)
            other = b if coalition == a else a
            assert coalitions_of(obj) == {coalition}, label
            assert model.objects.filter(scope_q(model, {coalition}), pk=obj.pk).exists(), label
            assert not model.objects.filter(scope_q(model, {other}), pk=obj.pk).exists(), label
    # Shared: an organisation working with both coalitions is both's; with none, everyone's.
    assert coalitions_of(built.shared) == {a, b}
    assert coalitions_of(lonely) == set()
    for coalition in (a, b):
        shown = Organisation.objects.filter(scope_q(Organisation, {coalition}))
        assert {built.shared, lonely} <= set(shown)
