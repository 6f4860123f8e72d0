"""An object deleted by mistake comes back from the admin's "Corbeille" with its links."""

import datetime
from html import unescape
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from actions.models import Action, ProgressNote, Target, TargetValue
from backoffice import trash
from backups.backup import backup_models
from partners.models import ActionPartner
from plans.groups import COORDINATION
from plans.models import Assembly, Membership, Objective, Period, Plan, Review, SubObjective, Theme
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PeriodFactory,
    SubObjectiveFactory,
    TargetFactory,
    TargetValueFactory,
    ThemeFactory,
    build_plan,
)
from tests.helpers import change_form_data, make_user

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def member(backoffice_member):
    """The member of these tests may enter the back-office (tests/conftest.py)."""
    return backoffice_member


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


def test_a_restored_partner_link_comes_back_alone(coordinator_client, plan):
    # (A trail entry is never deleted alone: it goes, and comes back, with its action.)
    action = plan.actions.get(title="Jardins collectifs")
    link = ActionPartnerFactory(action=action, note="Contact : Mme Roy")
    for obj in (link,):
        before = snapshot(type(obj).objects.filter(pk=obj.pk))
        delete_in_admin(coordinator_client, obj)
        record = type(obj).history.get(id=obj.pk, history_type="-")

        coordinator_client.post(admin_url(type(obj), "recover", record.history_id))

        assert snapshot(type(obj).objects.filter(pk=obj.pk)) == before


# --- Links the deletion took: related actions on both ends, emptied rows --------------------


def related(action):
    return set(Action.objects.get(pk=action.pk).related_actions.values_list("code", flat=True))


def link_in_admin(client, action, *others):
    """Saves `action`'s change form as shown, its related actions set to `others`."""
    url = admin_url(Action, "change", action.pk)
    data = change_form_data(client.get(url))
    data["related_actions"] = [str(other.pk) for other in others]
    assert client.post(url, data).status_code == 302


def restore_in_admin(client, obj):
    record = deletion_record(obj.pk, type(obj))
    response = client.post(admin_url(type(obj), "recover", record.history_id))
    assert response.status_code == 302
    return response


@pytest.fixture
def three(plan):
    return list(plan.actions.order_by("sort_key"))


def test_related_actions_come_back_on_both_ends_whichever_form_made_the_link(
    coordinator_client, three
):
    first, second, third = three
    link_in_admin(coordinator_client, first, second)  # from its own form
    link_in_admin(coordinator_client, third, first)  # from the other action's form
    before = snapshot(Action.objects.all())
    delete_in_admin(coordinator_client, first)
    assert related(second) == related(third) == set()

    restore_in_admin(coordinator_client, first)

    assert related(first) == {second.code, third.code}
    assert related(second) == related(third) == {first.code}
    assert snapshot(Action.objects.all()) == before


def test_a_link_removed_before_the_deletion_does_not_come_back(coordinator_client, three):
    first, second, third = three
    link_in_admin(coordinator_client, first, second, third)
    link_in_admin(coordinator_client, second)  # the other action's form removes the link
    delete_in_admin(coordinator_client, first)

    restore_in_admin(coordinator_client, first)

    assert related(first) == {third.code}
    assert related(second) == set()


@pytest.mark.parametrize("restored_first", [0, 1])
def test_a_link_between_two_deleted_actions_comes_back_once_both_are(
    coordinator_client, coordinator, three, restored_first
):
    first, second, third = three
    link_in_admin(coordinator_client, first, second, third)
    delete_in_admin(coordinator_client, first)
    # Changed in between: the second's last record no longer lists the first.
    second.title = "Marchés publics"
    second._history_user = coordinator
    second.save()
    delete_in_admin(coordinator_client, second)

    one, other = [first, second][restored_first], [second, first][restored_first]
    restore_in_admin(coordinator_client, one)
    assert related(one) == ({third.code} if one is first else set())
    restore_in_admin(coordinator_client, other)

    assert related(first) == {second.code, third.code}
    assert related(second) == related(third) == {first.code}


def test_memberships_point_back_at_a_restored_organisation(
    coordinator_client, coordinator, django_user_model, plan
):
    coalition = plan.coalition
    organisation = OrganisationFactory(name="Centre de services scolaire", coalition=coalition)
    elsewhere = OrganisationFactory(name="Ville de Laval", coalition=coalition)

    def seat(username):
        user = make_user(django_user_model, username)
        return Membership.objects.create(coalition=coalition, user=user, organisation=organisation)

    emptied, moved, left, gone = (seat(f"membre-{n}") for n in range(4))
    left.organisation = None
    left.save()  # before the deletion, on purpose
    gone.delete()  # on its own, just before the organisation
    delete_in_admin(coordinator_client, organisation)
    assert not Membership.objects.filter(organisation__isnull=False).exists()
    moved.organisation = elsewhere
    moved.save()  # after the deletion, on purpose

    restore_in_admin(coordinator_client, organisation)

    for membership in (emptied, moved, left):
        membership.refresh_from_db()
    assert emptied.organisation == organisation
    assert moved.organisation == elsewhere
    assert left.organisation is None
    assert not Membership.objects.filter(pk=gone.pk).exists()
    record = emptied.history.first()
    assert (record.history_user, record.history_change_reason) == (
        coordinator,
        "Restauré après suppression",
    )


def test_reviews_point_back_at_a_restored_assembly(coordinator_client, plan):
    assembly = Assembly.objects.create(coalition=plan.coalition, date=datetime.date(2018, 6, 5))
    review = Review.objects.create(
        plan=plan,
        title="Bilan de l'an 1",
        start=datetime.date(2017, 4, 1),
        end=datetime.date(2018, 3, 31),
        presented_at=assembly,
    )
    delete_in_admin(coordinator_client, assembly)

    restore_in_admin(coordinator_client, assembly)

    review.refresh_from_db()
    assert review.presented_at == assembly


# --- Two restores of the same deletion ---------------------------------------------------------


def row_counts():
    """How many rows each backed-up model holds: plan data, its history, the admin log."""
    return {str(model._meta): model._base_manager.count() for model in backup_models()}


@pytest.fixture
def colleague(django_user_model, plan):
    colleague = make_user(django_user_model, "coordo2", COORDINATION)
    Membership.objects.create(coalition=plan.coalition, user=colleague)
    return colleague


@pytest.fixture
def restored(coordinator_client, colleague, three):
    """The first action, deleted, then restored by a colleague: (action, its deletion)."""
    first, second, _third = three
    link_in_admin(coordinator_client, first, second)
    delete_in_admin(coordinator_client, first)
    record = deletion_record(first.pk)
    trash.restore(record=record, user=colleague)
    return first, record


def test_a_second_restore_of_the_same_deletion_says_so_and_writes_nothing(coordinator, restored):
    action, record = restored
    written = row_counts()

    with pytest.raises(ValidationError) as refusal:
        trash.restore(record=record, user=coordinator)

    (message,) = refusal.value.messages
    assert f"« {action} » a déjà été restauré par coordo2 le " in message
    assert message.endswith("Rien n'a été écrit.")
    assert row_counts() == written


def test_a_trash_read_before_a_colleagues_restore_answers_already_restored(
    coordinator_client, coordinator, colleague, three, monkeypatch
):
    first, *_others = three
    delete_in_admin(coordinator_client, first)
    record = deletion_record(first.pk)
    as_read = trash.deleted_objects(Action, coordinator)  # her page, still listing it
    trash.restore(record=record, user=colleague)  # meanwhile
    monkeypatch.setattr(trash, "deleted_objects", lambda model, user: as_read)
    written = row_counts()

    response = coordinator_client.post(admin_url(Action, "recover", record.history_id))

    assert response.status_code == 200
    assert f"« {first} » a déjà été restauré par coordo2 le " in unescape(response.text)
    assert row_counts() == written


@pytest.mark.parametrize("committed", ["before-the-checks", "before-the-insert"])
def test_a_restore_at_the_same_instant_as_another_says_already_restored(
    coordinator, restored, monkeypatch, committed
):
    """The other restore committed after this one looked for the object: its row shows in
    the checks of the rows (its code is taken), or only when this one inserts the same key
    (PostgreSQL waits for the other to commit, then refuses the insert)."""
    action, record = restored
    checks = []
    real_exists = trash._exists

    def not_yet_committed(record):
        checks.append(record)
        return len(checks) > 1 and real_exists(record)

    monkeypatch.setattr(trash, "_exists", not_yet_committed)
    if committed == "before-the-insert":
        monkeypatch.setattr(Action, "full_clean", lambda self, *args, **kwargs: None)
    written = row_counts()

    with pytest.raises(ValidationError) as refusal:
        trash.restore(record=record, user=coordinator)

    assert f"« {action} » a déjà été restauré par coordo2 le " in refusal.value.messages[0]
    assert row_counts() == written


def test_a_seeded_action_comes_back_with_its_related_actions(client, settings):
    """The seed's history is written in bulk: its first records list the links too."""
    settings.DEBUG = True
    call_command("setup_demo", stdout=StringIO())
    superuser = User.objects.create_superuser("admin", password="x")
    client.force_login(superuser)
    action = Action.objects.get(plan__slug="casal-2016-2020", code="1.5.2")
    linked = related(action)
    assert "3.3.2" in linked
    before = snapshot(Action.objects.filter(plan=action.plan))
    delete_in_admin(client, action)

    restore_in_admin(client, action)

    assert related(action) == linked
    assert snapshot(Action.objects.filter(plan=action.plan)) == before
