"""An object deleted by mistake comes back from the admin's "Corbeille" with its links."""

from html import unescape

import pytest
from django.core import serializers
from django.test import Client
from django.urls import reverse

from actions.models import Action, ProgressNote, Target, TargetValue
from partners.models import ActionPartner
from plans.groups import COORDINATION
from plans.models import Membership, Objective, Period, Plan, SubObjective, Theme
from tests.conftest import make_user
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    ObjectiveFactory,
    PeriodFactory,
    ProgressNoteFactory,
    SubObjectiveFactory,
    TargetFactory,
    TargetValueFactory,
    ThemeFactory,
    build_plan,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(coordinator):
    plan, actions = build_plan(actions=3, periods=2)
    Membership.objects.create(coalition=plan.coalition, user=coordinator)
    action = actions[0]
    action.themes.set([ThemeFactory(name="Accès")])
    action.periods.set(Period.objects.filter(plan=plan))
    TargetValueFactory(target=TargetFactory(action=action, kind=Target.Kind.COUNT), value=12)
    action.title = "Jardins collectifs"
    action.save()
    return plan


def snapshot(queryset):
    """The rows as a backup would keep them: every field, many-to-many included."""
    return serializers.serialize("json", queryset.order_by("pk"))


def action_rows(action_pk):
    return {
        "action": snapshot(Action.objects.filter(pk=action_pk)),
        "targets": snapshot(Target.objects.filter(action=action_pk)),
        "values": snapshot(TargetValue.objects.filter(target__action=action_pk)),
        "links": snapshot(ActionPartner.objects.filter(action=action_pk)),
        "notes": snapshot(ProgressNote.objects.filter(action=action_pk)),
    }


def admin_url(model, name, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{name}", args=args)


def delete_in_admin(client, obj):
    response = client.post(admin_url(type(obj), "delete", obj.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not type(obj).objects.filter(pk=obj.pk).exists()


def deletion_record(obj_pk, model=Action):
    return model.history.get(id=obj_pk, history_type="-")


def test_a_deleted_action_comes_back_with_its_targets_partners_notes_and_schedule(
    coordinator_client, coordinator, plan
):
    action = plan.actions.get(title="Jardins collectifs")
    before = action_rows(action.pk)
    assert Target.objects.filter(action=action).count() == 2
    delete_in_admin(coordinator_client, action)

    trash = coordinator_client.get(admin_url(Action, "recover_list"))
    assert "Jardins collectifs" in trash.content.decode()
    record = deletion_record(action.pk)
    confirm = coordinator_client.get(admin_url(Action, "recover", record.history_id))
    page = confirm.content.decode()
    assert "a été supprimé le" in page
    assert page.count("<li>Cible") == 2  # what comes back with it is listed
    response = coordinator_client.post(admin_url(Action, "recover", record.history_id))

    assert response.status_code == 302
    assert response["Location"] == admin_url(Action, "change", action.pk)
    assert action_rows(action.pk) == before
    restored = Action.objects.get(pk=action.pk)
    assert {p.label for p in restored.periods.all()} == {"2016-2017", "2017-2018"}
    assert [t.name for t in restored.themes.all()] == ["Accès"]
    latest = restored.history.filter(history_type="+").first()
    assert latest.history_user == coordinator
    assert latest.history_change_reason == "Restauré après suppression"
    message = coordinator_client.get(response["Location"]).content.decode()
    assert "Restauré : « 1.1.1 Jardins collectifs », avec 6 éléments supprimés" in message


def test_the_trash_link_is_on_the_list_and_the_trash_empties_once_restored(
    coordinator_client, plan
):
    action = plan.actions.get(title="Jardins collectifs")
    delete_in_admin(coordinator_client, action)
    changelist = coordinator_client.get(admin_url(Action, "changelist")).content.decode()
    assert f'href="{admin_url(Action, "recover_list")}"' in changelist

    record = deletion_record(action.pk)
    coordinator_client.post(admin_url(Action, "recover", record.history_id))
    trash = coordinator_client.get(admin_url(Action, "recover_list")).content.decode()

    assert 'id="recover-list"' not in trash
    assert "Rien à restaurer." in trash
    again = coordinator_client.post(admin_url(Action, "recover", record.history_id), follow=True)
    assert "n'est plus dans les éléments supprimés" in unescape(again.content.decode())
    assert Action.objects.filter(pk=action.pk).count() == 1


def test_a_row_deleted_on_its_own_earlier_stays_deleted(coordinator_client, plan):
    action = plan.actions.get(title="Jardins collectifs")
    lone = TargetFactory(action=action, description="Cible retirée exprès")
    delete_in_admin(coordinator_client, lone)
    history = Target.history.get(id=lone.pk, history_type="-")
    # Deleted well before the action, so not part of its cascade.
    Target.history.filter(pk=history.pk).update(
        history_date=history.history_date.replace(year=2020)
    )
    delete_in_admin(coordinator_client, action)

    record = deletion_record(action.pk)
    coordinator_client.post(admin_url(Action, "recover", record.history_id))

    assert Action.objects.filter(pk=action.pk).exists()
    assert not Target.objects.filter(pk=lone.pk).exists()
    trash = coordinator_client.get(admin_url(Target, "recover_list")).content.decode()
    assert "Cible retirée exprès" in trash


def test_a_deleted_plan_comes_back_whole(client, django_user_model):
    # Actions protect their sub-objectives, so only a plan without actions can be deleted.
    superuser = django_user_model.objects.create_superuser("admin", password="x")
    client.force_login(superuser)
    plan = PeriodFactory(label="2024-2025").plan
    PeriodFactory(plan=plan, label="2025-2026")
    for number in (1, 2):
        objective = ObjectiveFactory(plan=plan, number=number)
        SubObjectiveFactory.create_batch(2, objective=objective)
    tables = [Plan, Period, Objective, SubObjective]
    before = {model: snapshot(model.objects.all()) for model in tables}
    delete_in_admin(client, plan)
    assert not Period.objects.exists()

    record = Plan.history.get(id=plan.pk, history_type="-")
    confirm = client.get(admin_url(Plan, "recover", record.history_id)).content.decode()
    response = client.post(admin_url(Plan, "recover", record.history_id))

    # Each row that comes back is listed, even those whose name needs another deleted row.
    assert confirm.count("<li>Sous-objectif : ") == 4
    assert confirm.count("<li>Période : ") == 2

    assert response.status_code == 302
    assert {model: snapshot(model.objects.all()) for model in tables} == before


def test_a_clash_restores_nothing_and_says_why(coordinator_client, plan):
    action = plan.actions.get(title="Jardins collectifs")
    delete_in_admin(coordinator_client, action)
    ActionFactory(sub_objective=action.sub_objective, code=action.code, title="Remplaçante")
    record = deletion_record(action.pk)

    response = coordinator_client.post(
        admin_url(Action, "recover", record.history_id), follow=True
    )

    page = response.content.decode()
    assert "ne peut pas être restauré" in unescape(page)
    assert not Action.objects.filter(pk=action.pk).exists()
    assert not Target.objects.filter(action_id=action.pk).exists()


def test_another_coalitions_coordinator_neither_sees_nor_restores(
    coordinator_client, django_user_model, plan
):
    action = plan.actions.get(title="Jardins collectifs")
    delete_in_admin(coordinator_client, action)
    record = deletion_record(action.pk)
    elsewhere, _actions = build_plan(actions=1, periods=1)
    stranger = make_user(django_user_model, "coordo-ailleurs", COORDINATION)
    Membership.objects.create(coalition=elsewhere.coalition, user=stranger)
    other = Client()
    other.force_login(stranger)

    trash = other.get(admin_url(Action, "recover_list")).content.decode()
    response = other.post(admin_url(Action, "recover", record.history_id), follow=True)

    assert "Jardins collectifs" not in trash
    assert "n'est plus dans les éléments supprimés" in unescape(response.content.decode())
    assert not Action.objects.filter(pk=action.pk).exists()


def test_members_who_only_read_have_no_trash(client, member, plan):
    Membership.objects.create(coalition=plan.coalition, user=member)
    client.force_login(member)

    assert client.get(admin_url(Action, "recover_list")).status_code == 403
    changelist = client.get(admin_url(Action, "changelist")).content.decode()
    assert admin_url(Action, "recover_list") not in changelist


def test_themes_are_not_in_any_trash(client, django_user_model):
    superuser = django_user_model.objects.create_superuser("admin", password="x")
    client.force_login(superuser)
    theme = ThemeFactory()

    assert client.get(admin_url(Theme, "recover_list")).status_code == 403
    assert Theme.objects.filter(pk=theme.pk).exists()


def test_a_restored_target_value_and_note_come_back_alone(coordinator_client, plan):
    action = plan.actions.get(title="Jardins collectifs")
    note = ProgressNoteFactory(action=action, text="Rencontre avec la Ville")
    link = ActionPartnerFactory(action=action, note="Contact : Mme Roy")
    for obj in (note, link):
        before = snapshot(type(obj).objects.filter(pk=obj.pk))
        delete_in_admin(coordinator_client, obj)
        record = type(obj).history.get(id=obj.pk, history_type="-")

        coordinator_client.post(admin_url(type(obj), "recover", record.history_id))

        assert snapshot(type(obj).objects.filter(pk=obj.pk)) == before
