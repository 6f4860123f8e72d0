"""The page "what changed since the last assembly": which date it starts from, every kind of
change it tells (status, note, value, partner, field, schedule), with its author, and only
those of the plan and of the window.

Time is controlled by backdating: the story's plan is created, then everything it holds is
moved 90 days into the past; what a test does afterwards happens today.
"""

import datetime
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from actions.models import Action, ProgressNote, Target, TargetValue
from actions.services import change_status
from dashboard.changes import count_by_kind, group_by_action
from partners.models import ActionPartner
from partners.timeline import action_timeline, plan_changes
from plans.models import Assembly, Membership
from tests.dashboard.reading import element, elements, french_date, html, main_text, words
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PeriodFactory,
    PlanFactory,
    ProgressNoteFactory,
    SubObjectiveFactory,
    TargetFactory,
    TargetValueFactory,
)

pytestmark = pytest.mark.django_db

NO_CHANGE = "Aucun changement depuis cette date."


def days_ago(days):
    return timezone.localdate() - datetime.timedelta(days=days)


def noon(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def backdate(plan, day):
    """Move everything already recorded about the plan's actions to `day`."""
    when = noon(day)
    Action.history.filter(plan_id=plan.pk).update(history_date=when)
    Target.history.filter(action__plan_id=plan.pk).update(history_date=when)
    TargetValue.history.filter(target__action__plan_id=plan.pk).update(history_date=when)
    ActionPartner.history.filter(action__plan_id=plan.pk).update(history_date=when)
    ProgressNote.objects.filter(action__plan_id=plan.pk).update(created_at=when, date=day)


def by(user, obj):
    """`obj`, whose next save the history will credit to `user`."""
    obj._history_user = user
    return obj


def changes_url(plan, since=None):
    url = reverse("dashboard:changes", args=[plan.slug])
    return f"{url}?since={since.isoformat()}" if since else url


def changes_of(response, code):
    """The words of each change listed under action `code`, newest first."""
    for section in elements(response, "section", "action-changes"):
        if words(section).startswith(f"{code} "):
            return [words(change) for change in elements(section, "li", "change")]
    return []


def every_change(response):
    return [words(change) for change in elements(response, "li", "change")]


def heading(response):
    return words(element(response, "header", "page-header"))


@pytest.fixture
def story(db, client, member, coordinator):
    """A plan 90 days old, read by a member; the coordinator makes today's changes."""
    plan = PlanFactory(title="Plan d'action du CASAL")
    first = PeriodFactory(
        plan=plan,
        label="2016-2017",
        start=datetime.date(2016, 4, 1),
        end=datetime.date(2017, 3, 31),
    )
    second = PeriodFactory(
        plan=plan,
        label="2017-2018",
        start=datetime.date(2017, 4, 1),
        end=datetime.date(2018, 3, 31),
    )
    sub_objective = SubObjectiveFactory(objective=ObjectiveFactory(plan=plan, number=1), number=1)
    gardens = ActionFactory(
        sub_objective=sub_objective,
        code="1.1.1",
        title="Cartographier les jardins",
        means="Inventaire des jardins.",
    )
    gardens.periods.set([first])
    count = TargetFactory(
        action=gardens,
        description="Jardins répertoriés",
        kind=Target.Kind.COUNT,
        unit="jardins",
        target_value=40,
    )
    training = ActionFactory(
        sub_objective=sub_objective, code="1.1.2", title="Former les bénévoles"
    )
    ProgressNoteFactory(action=training, text="Première formation donnée.")
    backdate(plan, days_ago(90))
    Membership.objects.create(coalition=plan.coalition, user=member)
    client.force_login(member)
    return SimpleNamespace(
        plan=plan,
        first=first,
        second=second,
        gardens=gardens,
        training=training,
        count=count,
        coordinator=coordinator,
        client=client,
    )


def note_on(action, day, text):
    """A progress note written and dated on `day`."""
    note = ProgressNoteFactory(action=action, text=text, date=day)
    ProgressNote.objects.filter(pk=note.pk).update(created_at=noon(day))
    return note


# --- Which date the page starts from ---------------------------------------------------------


def test_default_date_is_the_last_assembly_held_by_today(story):
    Assembly.objects.create(coalition=story.plan.coalition, date=days_ago(60), title="AGA")
    Assembly.objects.create(
        coalition=story.plan.coalition, date=days_ago(20), title="Assemblée de mi-année"
    )
    Assembly.objects.create(
        coalition=story.plan.coalition, date=days_ago(-10), title="Assemblée à venir"
    )
    note_on(story.training, days_ago(30), "Avant la dernière assemblée.")
    note_on(story.training, days_ago(5), "Depuis la dernière assemblée.")

    response = story.client.get(changes_url(story.plan))

    assert response.status_code == 200
    assert heading(response).endswith(
        f"Ce qui a changé depuis le {french_date(days_ago(20))} "
        "C'est la date de l'assemblée « Assemblée de mi-année »."
    )
    assert f'value="{days_ago(20).isoformat()}"' in html(response)
    assert changes_of(response, "1.1.2") == [
        f"{french_date(days_ago(5))} · (système) Note de suivi Depuis la dernière assemblée."
    ]
    links = words(element(response, "p", "assembly-links"))
    assert links == f"Assemblées : {french_date(days_ago(20))} · {french_date(days_ago(60))}"


def test_without_an_assembly_the_page_covers_the_last_30_days_and_says_so(story):
    note_on(story.training, days_ago(40), "Il y a 40 jours.")
    note_on(story.training, days_ago(20), "Il y a 20 jours.")

    response = story.client.get(changes_url(story.plan))

    assert f"Ce qui a changé depuis le {french_date(days_ago(30))}" in heading(response)
    assert (
        "Aucune assemblée n'est inscrite pour cette coalition : voici les 30 derniers jours."
        in heading(response)
    )
    assert [change.split(" Note de suivi ")[1] for change in every_change(response)] == [
        "Il y a 20 jours."
    ]


def test_a_chosen_date_replaces_the_default(story):
    Assembly.objects.create(coalition=story.plan.coalition, date=days_ago(20), title="AG")
    note_on(story.training, days_ago(40), "Il y a 40 jours.")

    response = story.client.get(changes_url(story.plan, since=days_ago(50)))

    assert f"Ce qui a changé depuis le {french_date(days_ago(50))}" in heading(response)
    assert "Aucune assemblée n'est inscrite" not in heading(response)
    assert f'value="{days_ago(50).isoformat()}"' in html(response)
    assert changes_of(response, "1.1.2") == [
        f"{french_date(days_ago(40))} · (système) Note de suivi Il y a 40 jours."
    ]


def test_an_invalid_date_is_pointed_out_and_the_default_used(story):
    response = story.client.get(
        reverse("dashboard:changes", args=[story.plan.slug]), {"since": "hier"}
    )

    assert response.status_code == 200
    assert "Saisissez une date valide." in main_text(response)
    assert f"Ce qui a changé depuis le {french_date(days_ago(30))}" in heading(response)


# --- What the page tells ---------------------------------------------------------------------


def test_a_status_change_after_the_date_is_listed_with_its_author_and_reason(story):
    change_status(
        action=story.gardens,
        status=Action.Status.POSTPONED,
        user=story.coordinator,
        reason="Le financement arrive en juin.",
        without_date=True,
    )

    response = story.client.get(changes_url(story.plan, since=days_ago(7)))

    assert changes_of(response, "1.1.1") == [
        f"{french_date(days_ago(0))} · coordo Statut : À venir → Reportée "
        "Le financement arrive en juin. Reportée sans nouvelle date."
    ]
    assert words(element(response, "section", "summary")) == (
        "1 changement 1 changement de statut"
    )


def test_a_status_change_before_the_date_is_not_listed(story):
    change_status(
        action=story.gardens,
        status=Action.Status.IN_PROGRESS,
        user=story.coordinator,
        date=days_ago(40),
    )
    backdate(story.plan, days_ago(40))

    response = story.client.get(changes_url(story.plan, since=days_ago(30)))

    assert every_change(response) == []
    assert NO_CHANGE in main_text(response)
    assert "0 changement" in main_text(response)


def test_a_new_target_value_is_listed(story):
    by(story.coordinator, TargetValue(target=story.count, value=12)).save()

    response = story.client.get(changes_url(story.plan, since=days_ago(7)))

    assert changes_of(response, "1.1.1") == [
        f"{french_date(days_ago(0))} · coordo "
        "Nouvelle valeur pour « Jardins répertoriés » : 12 jardins (cible : 40)"
    ]


def test_a_corrected_target_value_shows_before_and_after(story):
    value = TargetValueFactory(target=story.count, value=12)
    backdate(story.plan, days_ago(40))
    value.value = 15
    by(story.coordinator, value).save()

    response = story.client.get(changes_url(story.plan, since=days_ago(7)))

    assert changes_of(response, "1.1.1") == [
        f"{french_date(days_ago(0))} · coordo Valeur corrigée pour « Jardins répertoriés » "
        "Valeur avant : 12 → après : 15"
    ]


def test_an_added_partner_is_listed(story):
    by(
        story.coordinator,
        ActionPartner(
            action=story.gardens,
            organisation=OrganisationFactory(name="Moisson Laval"),
            role=ActionPartner.Role.CARRIER,
            confirmation=ActionPartner.Confirmation.CONFIRMED_MEMBER,
        ),
    ).save()

    response = story.client.get(changes_url(story.plan, since=days_ago(7)))

    assert changes_of(response, "1.1.1") == [
        f"{french_date(days_ago(0))} · coordo "
        "Porteur ou partenaire ajouté : Moisson Laval (Porteur, Membre confirmé)"
    ]


def test_an_added_partner_leaves_out_what_the_plan_did_not_say(story):
    by(
        story.coordinator,
        ActionPartner(
            action=story.gardens,
            organisation=OrganisationFactory(name="Ville de Laval"),
            role=ActionPartner.Role.PARTNER,
        ),
    ).save()

    response = story.client.get(changes_url(story.plan, since=days_ago(7)))

    assert changes_of(response, "1.1.1") == [
        f"{french_date(days_ago(0))} · coordo "
        "Porteur ou partenaire ajouté : Ville de Laval (Partenaire)"
    ]


def test_an_edited_action_field_shows_its_label_before_and_after(story):
    story.gardens.means = "Inventaire et carte des jardins."
    by(story.coordinator, story.gardens).save()

    response = story.client.get(changes_url(story.plan, since=days_ago(7)))

    assert changes_of(response, "1.1.1") == [
        f"{french_date(days_ago(0))} · coordo Action modifiée "
        "Moyens d'action et conditions de réalisation "
        "avant : Inventaire des jardins. → après : Inventaire et carte des jardins."
    ]


def test_an_edit_is_compared_with_the_value_as_it_stood_on_the_date(story):
    story.gardens.means = "Deuxième version."
    story.gardens.save()
    backdate(story.plan, days_ago(40))
    story.gardens.means = "Troisième version."
    by(story.coordinator, story.gardens).save()

    response = story.client.get(changes_url(story.plan, since=days_ago(30)))

    assert changes_of(response, "1.1.1") == [
        f"{french_date(days_ago(0))} · coordo Action modifiée "
        "Moyens d'action et conditions de réalisation "
        "avant : Deuxième version. → après : Troisième version."
    ]


def test_a_period_added_to_the_schedule_shows_before_and_after(story):
    by(story.coordinator, story.gardens).periods.add(story.second)

    response = story.client.get(changes_url(story.plan, since=days_ago(7)))

    assert changes_of(response, "1.1.1") == [
        f"{french_date(days_ago(0))} · coordo Action modifiée "
        "Périodes prévues avant : 2016-2017 → après : 2016-2017, 2017-2018"
    ]


def test_an_action_moved_to_another_period_reads_as_one_schedule_change(story):
    """The admin saves a schedule with periods.set(): a move is one change, not an
    unscheduled action followed by a newly scheduled one."""
    by(story.coordinator, story.gardens).periods.set([story.second])

    response = story.client.get(changes_url(story.plan, since=days_ago(7)))

    assert changes_of(response, "1.1.1") == [
        f"{french_date(days_ago(0))} · coordo Action modifiée "
        "Périodes prévues avant : 2016-2017 → après : 2017-2018"
    ]


def test_a_backdated_note_written_after_the_date_still_appears_with_its_own_date(story):
    ProgressNoteFactory(
        action=story.training, text="Rencontre de juin oubliée.", date=days_ago(60)
    )

    response = story.client.get(changes_url(story.plan, since=days_ago(7)))

    assert changes_of(response, "1.1.2") == [
        f"{french_date(days_ago(60))} · (système) Note de suivi Rencontre de juin oubliée."
    ]


def test_changes_of_another_plan_never_appear(story):
    other_plan = PlanFactory(title="Plan d'une autre table")
    Membership.objects.create(coalition=other_plan.coalition, user=story.coordinator)
    elsewhere = ActionFactory(
        sub_objective=SubObjectiveFactory(
            objective=ObjectiveFactory(plan=other_plan, number=1), number=1
        ),
        code="1.1.1",
        title="Action d'une autre table",
    )
    change_status(
        action=elsewhere, status=Action.Status.DONE, user=story.coordinator, note="Finie."
    )
    ActionPartnerFactory(action=elsewhere)
    TargetValueFactory(target=TargetFactory(action=elsewhere, kind=Target.Kind.COUNT))

    response = story.client.get(changes_url(story.plan, since=days_ago(7)))

    assert every_change(response) == []
    assert NO_CHANGE in main_text(response)
    assert "Action d'une autre table" not in main_text(response)


def test_a_removed_action_is_listed_without_a_link(story):
    by(story.coordinator, story.training).delete()

    response = story.client.get(changes_url(story.plan, since=days_ago(7)))

    section = next(
        s for s in elements(response, "section", "action-changes") if "1.1.2" in words(s)
    )
    assert "<a " not in section.split("</h2>")[0]
    assert changes_of(response, "1.1.2") == [
        f"{french_date(days_ago(0))} · coordo Action retirée du plan"
    ]


def test_each_actions_changes_are_grouped_under_a_link_to_the_action(story):
    change_status(action=story.training, status=Action.Status.DONE, user=story.coordinator)
    change_status(action=story.gardens, status=Action.Status.DONE, user=story.coordinator)

    response = story.client.get(changes_url(story.plan, since=days_ago(7)))

    headings = [
        section.split("</h2>")[0] for section in elements(response, "section", "action-changes")
    ]
    assert [words(h) for h in headings] == [
        "1.1.1 Cartographier les jardins",
        "1.1.2 Former les bénévoles",
    ]
    action_url = reverse("dashboard:action", args=[story.plan.slug, "1.1.1"])
    assert f'<a href="{action_url}">' in headings[0]


# --- The functions behind the page -----------------------------------------------------------


def test_plan_changes_lists_the_newest_first(story):
    note_on(story.training, days_ago(5), "Plus ancienne.")
    note_on(story.training, days_ago(2), "Plus récente.")

    changes = plan_changes(story.plan, days_ago(7))

    assert [(change.kind, change.text, change.date) for change in changes] == [
        ("note", "Plus récente.", days_ago(2)),
        ("note", "Plus ancienne.", days_ago(5)),
    ]


def test_group_by_action_orders_actions_by_code_not_by_text(story):
    sub_objective = story.gardens.sub_objective
    tenth = ActionFactory(sub_objective=sub_objective, code="1.1.10", title="Dixième")
    for action in (tenth, story.training, story.gardens):
        note_on(action, days_ago(1), f"Note sur {action.code}")

    groups = group_by_action(plan_changes(story.plan, days_ago(7)))

    assert [(code, title, len(items)) for code, title, _id, items in groups] == [
        ("1.1.1", "Cartographier les jardins", 1),
        ("1.1.2", "Former les bénévoles", 1),
        ("1.1.10", "Dixième", 2),  # its note, and the action added to the plan
    ]


def test_count_by_kind_counts_each_kind_in_order_even_when_none(story):
    change_status(action=story.gardens, status=Action.Status.IN_PROGRESS, user=story.coordinator)
    note_on(story.training, days_ago(1), "Une note.")
    note_on(story.gardens, days_ago(1), "Une autre note.")

    counts = count_by_kind(plan_changes(story.plan, days_ago(7)))

    assert [(kind, count) for kind, _label, count in counts] == [
        ("status", 1),
        ("note", 2),
        ("target", 0),
        ("partner", 0),
        ("action", 0),
    ]
    labels = {kind: str(label) for kind, label, _count in counts}
    assert labels["status"] == "1 changement de statut"
    assert labels["note"] == "2 notes de suivi"


def test_action_timeline_tells_the_whole_story_of_one_action_only(story):
    change_status(action=story.gardens, status=Action.Status.IN_PROGRESS, user=story.coordinator)

    timeline = action_timeline(story.gardens)

    newest, *older = [(change.date, change.headline) for change in timeline]
    assert newest == (days_ago(0), "Statut : À venir → En cours")
    assert sorted(older) == [
        (days_ago(90), "Action ajoutée au plan"),
        (days_ago(90), "Action modifiée"),  # scheduled in 2016-2017 after being created
        (days_ago(90), "Cible ajoutée : Jardins répertoriés"),
    ]
    assert {change.action_code for change in timeline} == {"1.1.1"}
