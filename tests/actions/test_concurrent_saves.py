"""Two coordinators save the same action at the same instant, on every page that saves one:
exactly one save goes through, the other is refused with who changed what and keeps what she
typed, and nothing is lost (tests/concurrency.py)."""

import contextlib
import io
import threading
from types import SimpleNamespace

import pytest
import tablib
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from actions.models import Action, ProgressNote, Target, TargetValue
from actions.services import change_status
from imports.action_resources import ActionResource
from plans.versions import StaleVersion, latest_records, version_of
from tests.concurrency import (
    NOT_SAVED,
    PAIRS,
    at_once,
    fields_of,
    one_saved,
    open_at_once,
    post_at_once,
    text,
    two_coordinators,
)
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    OrganisationFactory,
    TargetFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def desk(live_server, django_user_model):
    """An action with a partner, and two coordinators of its coalition, each in her browser."""
    action = ActionFactory(title="Mobiliser les producteurs")
    link = ActionPartnerFactory(
        action=action, organisation=OrganisationFactory(name="Moisson Laval")
    )
    with two_coordinators(live_server, django_user_model, action.plan.coalition) as (
        users,
        browsers,
    ):
        yield SimpleNamespace(action=action, link=link, users=users, browsers=browsers)


def history_count(obj):
    return type(obj).history.filter(id=obj.pk).count()


def test_two_saves_of_the_action_page_at_once(desk):
    url = reverse("admin:actions_action_change", args=[desk.action.pk])
    for pair in range(PAIRS):
        before = history_count(desk.action)
        pages = open_at_once(desk.browsers, url)
        tokens = [f"[{user.username} {pair}]" for user in desk.users]
        posts = [
            fields_of(page, "action_form", means=f"Moyens {token}")
            for page, token in zip(pages, tokens, strict=True)
        ]
        responses = post_at_once(desk.browsers, url, posts)

        saved, refused = one_saved(responses)
        winner = tokens[responses.index(saved)]
        loser = tokens[responses.index(refused)]
        desk.action.refresh_from_db()
        assert desk.action.means == f"Moyens {winner}"
        assert history_count(desk.action) == before + 1
        assert NOT_SAVED in text(refused)
        assert loser in refused.text  # what she typed is still in her form


def test_two_saves_of_the_same_partner_row_at_once(desk):
    """Both edit the note of the same partner row on the action page."""
    url = reverse("admin:actions_action_change", args=[desk.action.pk])
    prefix = "partner_links-0"
    for pair in range(PAIRS):
        before = history_count(desk.link)
        pages = open_at_once(desk.browsers, url)
        notes = [f"Note [{user.username} {pair}]" for user in desk.users]
        posts = [
            fields_of(page, "action_form", **{f"{prefix}-note": note})
            for page, note in zip(pages, notes, strict=True)
        ]
        responses = post_at_once(desk.browsers, url, posts)

        saved, refused = one_saved(responses)
        desk.link.refresh_from_db()
        assert desk.link.note == notes[responses.index(saved)]
        assert history_count(desk.link) == before + 1
        assert NOT_SAVED in text(refused)
        assert notes[responses.index(refused)] in refused.text


def test_two_updates_of_the_action_at_once(desk):
    """Both open the action's update page, each picks a status and writes a note, and both
    click « Enregistrer » at once: one update goes through whole, the other writes nothing
    (no status, no note, no value) and comes back with what she typed. (The list's editable
    status this test once covered is gone: statuses change on this page.)"""
    url = reverse("admin:actions_action_update", args=[desk.action.pk])
    count = TargetFactory(action=desk.action, kind=Target.Kind.COUNT)
    for pair in range(PAIRS):
        pages = open_at_once(desk.browsers, url)
        current = Action.objects.get(pk=desk.action.pk).status
        choices = [s for s in Action.Status if s not in (current, *Action.STATUSES_NEEDING_REASON)]
        notes = [f"Note [{user.username} {pair}]" for user in desk.users]
        posts = [
            fields_of(
                page,
                "action-update-form",
                status=choice,
                note=note,
                **{f"value-{count.pk}": str(pair * 2 + index)},
            )
            for index, (page, choice, note) in enumerate(
                zip(pages, choices[:2], notes, strict=True)
            )
        ]
        responses = post_at_once(desk.browsers, url, posts)

        saved, refused = one_saved(responses)
        winner, loser = responses.index(saved), responses.index(refused)
        desk.action.refresh_from_db()
        assert desk.action.status == choices[winner]
        trail = ProgressNote.objects.filter(action=desk.action, text__in=notes)
        assert list(trail.values_list("text", flat=True)) == [notes[winner]]
        values = TargetValue.objects.filter(target=count, value__gte=pair * 2)
        assert list(values.values_list("value", flat=True)) == [pair * 2 + winner]
        assert "Rien n'a été enregistré" in text(refused)
        assert notes[loser] in refused.text  # what she typed is still in her form


def test_two_bulk_status_changes_at_once(desk):
    """Both choose the action in the list, « Changer le statut », and confirm at once."""
    url = reverse("admin:actions_action_changelist")
    selection = [
        ("action", "change_status_action"),
        ("_selected_action", str(desk.action.pk)),
        ("index", "0"),
    ]

    def choose(browser):
        token = dict(fields_of(browser.request("GET", url), "changelist-form"))
        fields = [("csrfmiddlewaretoken", token["csrfmiddlewaretoken"]), *selection]
        return browser.request("POST", url, fields, referer=url)

    for pair in range(PAIRS):
        before = ProgressNote.objects.filter(action=desk.action).count()
        pages = at_once(*(lambda b=b: choose(b) for b in desk.browsers))
        current = Action.objects.get(pk=desk.action.pk).status
        choices = [s for s in Action.Status if s not in (current, *Action.STATUSES_NEEDING_REASON)]
        notes = [f"Note [{user.username} {pair}]" for user in desk.users]
        posts = [
            fields_of(page, "change-status-form", "apply", status=choice, note=note)
            for page, choice, note in zip(pages, choices[:2], notes, strict=True)
        ]
        responses = post_at_once(desk.browsers, url, posts)

        saved, refused = one_saved(responses)
        desk.action.refresh_from_db()
        winner = responses.index(saved)
        assert desk.action.status == choices[winner]
        trail = ProgressNote.objects.filter(action=desk.action)
        assert trail.count() == before + 1
        assert trail.latest("pk").text == notes[winner]
        assert "Aucun statut n'a été changé" in text(refused)
        assert notes[responses.index(refused)] in refused.text


def save_status(pk, user, status, note, seen):
    """The trail entry written, or None when the service refused the stale save."""
    try:
        return change_status(
            action=Action.objects.get(pk=pk),
            status=status,
            user=user,
            note=note,
            seen_version=seen,
        )
    except StaleVersion:
        return None


def test_two_calls_of_the_status_service_at_once(desk):
    """The service every door uses, called at once by two people who saw the same version:
    one changes the status, the other is refused."""
    for pair in range(PAIRS):
        action = Action.objects.get(pk=desk.action.pk)
        seen = version_of(latest_records(Action, [action.pk])[action.pk])
        choices = [
            s for s in Action.Status if s not in (action.status, *Action.STATUSES_NEEDING_REASON)
        ]

        notes = [f"Note {pair} {user.username}" for user in desk.users]
        entries = at_once(
            *(
                lambda user=user, status=status, note=note, pk=action.pk, seen=seen: save_status(
                    pk, user, status, note, seen
                )
                for user, status, note in zip(desk.users, choices[:2], notes, strict=True)
            )
        )

        assert sum(entry is not None for entry in entries) == 1
        written = next(entry for entry in entries if entry is not None)
        assert Action.objects.get(pk=action.pk).status == written.status_to
        assert ProgressNote.objects.filter(action=action, text__in=notes).count() == 1


def rows_file(kind, header, row):
    """A one-row file as a coordinator would save it from Excel, in CSV or XLSX."""
    if kind == "csv":
        return "\n".join(",".join(f'"{cell}"' for cell in line) for line in (header, row)).encode()
    workbook = Workbook()
    workbook.active.append(header)
    workbook.active.append(row)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def test_two_imports_of_the_same_action_confirmed_at_once(desk):
    """Both import a file that retitles the action, see the preview, and confirm at once: one
    import goes through, the other writes nothing and says so; half the pairs in CSV, half in
    XLSX."""
    import_url = reverse("admin:actions_action_import")
    process_url = reverse("admin:actions_action_process_import")
    client = Client()
    client.force_login(desk.users[0])
    choices = client.get(import_url).context["form"].fields["format"].choices
    formats = {label: value for value, label in choices}
    header = ["plan", "code", "titre"]

    def preview(browser, kind, title):
        page = browser.request("GET", import_url)
        token = dict(fields_of(page, None, action=""))["csrfmiddlewaretoken"]
        content = rows_file(kind, header, [desk.action.plan.slug, desk.action.code, title])
        fields = {"csrfmiddlewaretoken": token, "resource": "0", "format": formats[kind]}
        files = {"import_file": (f"actions.{kind}", content)}
        return browser.request("POST", import_url, fields, referer=import_url, files=files)

    for pair in range(PAIRS):
        kind = "csv" if pair % 2 else "xlsx"
        before = history_count(desk.action)
        titles = [f"Titre importé [{user.username} {pair}]" for user in desk.users]
        pages = at_once(
            *(
                lambda b=b, title=title, kind=kind: preview(b, kind, title)
                for b, title in zip(desk.browsers, titles, strict=True)
            )
        )
        posts = [fields_of(page, None, "confirm", action=process_url) for page in pages]
        post_at_once(desk.browsers, process_url, posts)
        told = [
            text(b.request("GET", reverse("admin:actions_action_changelist")))
            for b in desk.browsers
        ]

        desk.action.refresh_from_db()
        assert desk.action.title in titles
        assert history_count(desk.action) == before + 1
        loser = 1 - titles.index(desk.action.title)
        assert "Rien n'a été importé" in told[loser]
        assert "Rien n'a été importé" not in told[1 - loser]


def test_two_coordinators_linking_the_same_two_actions_at_once(desk):
    """Each links her action to the other's at the same instant. Linking changes both
    actions: the second save finds hers changed by the first and is refused, and the link is
    there once (found in review: each locked her own action, then waited for the other's,
    and PostgreSQL broke the deadlock with an error shown as the outage page)."""
    other = ActionFactory(sub_objective=desk.action.sub_objective)
    actions = [desk.action, other]
    urls = [reverse("admin:actions_action_change", args=[action.pk]) for action in actions]
    for pair in range(PAIRS):
        desk.action.related_actions.clear()
        pages = open_at_once(desk.browsers, urls)
        means = [f"Moyens {pair} de {user.username}" for user in desk.users]
        posts = [
            fields_of(page, "action_form", related_actions=str(linked.pk), means=text_)
            for page, linked, text_ in zip(pages, reversed(actions), means, strict=True)
        ]
        responses = post_at_once(desk.browsers, urls, posts)

        saved, refused = one_saved(responses)
        assert list(desk.action.related_actions.all()) == [other]
        winner, loser = responses.index(saved), responses.index(refused)
        assert Action.objects.get(pk=actions[winner].pk).means == means[winner]
        assert Action.objects.get(pk=actions[loser].pk).means != means[loser]
        assert NOT_SAVED in text(refused)


class MeetingResource(ActionResource):
    """The actions import, whose two runs meet after each has written its first row: without
    a lock taken up front, each then holds the row the other wants next."""

    meeting = None

    def after_import_row(self, row, row_result, **kwargs):
        super().after_import_row(row, row_result, **kwargs)
        if kwargs.get("row_number") == 1:
            with contextlib.suppress(threading.BrokenBarrierError):
                self.meeting.wait(timeout=3)  # the other run may be waiting for our rows


def test_two_imports_of_the_same_rows_in_opposite_orders(desk):
    """Found in review: each confirmed import locked its rows in the order of its file, and
    two files naming the same actions in opposite orders deadlocked, one ending in a 500."""
    first = desk.action
    second = ActionFactory(sub_objective=first.sub_objective)
    MeetingResource.meeting = threading.Barrier(2)

    def run(order, tag, user):
        dataset = tablib.Dataset(headers=["plan", "code", "titre"])
        for action in order:
            dataset.append([action.plan.slug, action.code, f"Titre {tag}"])
        result = MeetingResource().import_data(dataset, dry_run=False, user=user)
        return result.has_errors() or result.has_validation_errors()

    failed = at_once(
        lambda: run([first, second], "un", desk.users[0]),
        lambda: run([second, first], "deux", desk.users[1]),
    )

    assert failed == [False, False]
    titles = set(
        Action.objects.filter(pk__in=[first.pk, second.pk]).values_list("title", flat=True)
    )
    assert titles in ({"Titre un"}, {"Titre deux"})  # one import after the other, not mixed


def test_two_corrections_of_the_same_entry_at_once_are_both_kept(desk):
    """A correction adds to the trail: two coordinators correcting the same entry at the same
    instant both see theirs kept, and the entry itself stays as it was written."""
    note = ProgressNote.objects.create(action=desk.action, text="Rencontre le 3 mai.")
    url = reverse("admin:actions_progressnote_correct", args=[note.pk])
    for pair in range(PAIRS):
        pages = open_at_once(desk.browsers, url)
        tokens = [f"[{user.username} {pair}]" for user in desk.users]
        posts = [
            fields_of(page, "correct-form", text=f"Le 4 mai {token}")
            for page, token in zip(pages, tokens, strict=True)
        ]
        responses = post_at_once(desk.browsers, url, posts)

        assert [response.status for response in responses] == [302, 302]
        for token in tokens:
            assert ProgressNote.objects.filter(corrects=note, text=f"Le 4 mai {token}").exists()
    note.refresh_from_db()
    assert note.text == "Rencontre le 3 mai."
    assert ProgressNote.objects.filter(corrects=note).count() == 2 * PAIRS
