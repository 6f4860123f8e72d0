"""The plan's table import as the coordinator uses it in the admin: upload a file, check how
its columns are read and what it would write, confirm, and lose nothing on the way: nothing
is written before the confirmation, a stale preview is never applied, a bad file or an expired
upload says so, and only those who may change the plan get to import into it."""

import datetime
import io
import re
import secrets

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from actions.models import Action
from plans.groups import COORDINATION
from plans.models import Membership, Objective, SubObjective, UploadedTable
from reports import workbook
from tests.factories import (
    ActionFactory,
    ObjectiveFactory,
    PeriodFactory,
    PlanFactory,
    SubObjectiveFactory,
    build_plan,
)
from tests.helpers import make_user
from tests.imports.helpers import import_url

# These test the admin for the coalitions the coordinator works for; the lines between
# coalitions are drawn in tests/test_permissions.py.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coordinator_of_every_coalition")]

HEADERS = ["Code", "Action", "Moyens d'action et conditions de réalisation", "2016-2017"]
ROWS = [
    ["1", "Nourrir le quartier"],
    ["1.1", "Cuisiner ensemble"],
    ["1.1.1", "Ouvrir une cuisine collective", "Un local prêté par la paroisse", "X"],
]
CONFIRM_BUTTON = 'value="confirm" class="default">Confirmer l\'import</button>'
EXPIRED = "L&#x27;aperçu a expiré ou le fichier n&#x27;est plus là"


@pytest.fixture
def member(backoffice_member):
    """The member of these tests may enter the back-office (tests/conftest.py)."""
    return backoffice_member


@pytest.fixture
def plan(db):
    plan = PlanFactory()
    PeriodFactory(plan=plan, label="2016-2017")
    PeriodFactory(
        plan=plan,
        label="2017-2018",
        start=datetime.date(2017, 4, 1),
        end=datetime.date(2018, 3, 31),
    )
    return plan


@pytest.fixture
def colleague(django_user_model, plan):
    """Another coordinator of the same coalition."""
    user = make_user(django_user_model, "coordo2", COORDINATION)
    Membership.objects.create(coalition=plan.coalition, user=user)
    return user


# --- Files and pages ------------------------------------------------------------------------


def xlsx(headers=HEADERS, rows=ROWS, name="plan.xlsx"):
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    stream = io.BytesIO()
    book.save(stream)
    return SimpleUploadedFile(name, stream.getvalue())


def change_url(plan):
    return reverse("admin:plans_plan_change", args=[plan.pk])


def html(response):
    return response.content.decode()


def upload(client, plan, file):
    return client.post(import_url(plan), {"step": "upload", "file": file})


def hidden(response, name):
    return re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html(response))[1]


def chosen_columns(response):
    """{column_<i>: the value selected in its menu}, as a browser would post them."""
    chosen = {}
    for name, options in re.findall(
        r'<select name="(column_\d+)"[^>]*>(.*?)</select>', html(response), flags=re.S
    ):
        selected = re.search(r'<option value="([^"]*)"[^>]*selected', options)
        chosen[name] = selected[1] if selected else ""
    return chosen


def next_step(client, plan, preview, step, **columns):
    """Post the preview page back as rendered, with `columns` chosen differently."""
    data = {"step": step, "token": hidden(preview, "token"), **chosen_columns(preview)}
    if 'name="fingerprint"' in html(preview):
        data["fingerprint"] = hidden(preview, "fingerprint")
    return client.post(import_url(plan), {**data, **columns}, follow=True)


def counts():
    return (Objective.objects.count(), SubObjective.objects.count(), Action.objects.count())


def kept_files():
    """The uploads waiting for their confirmation (in the database, for every server)."""
    return list(UploadedTable.objects.values_list("token", flat=True))


# --- The way in ------------------------------------------------------------------------------


def test_change_page_links_to_the_import_the_workbook_and_the_report(coordinator_client, plan):
    content = html(coordinator_client.get(change_url(plan)))

    assert f'<a href="{import_url(plan)}">Importer un tableau</a>' in content
    workbook_url = reverse("reports:workbook", args=[plan.slug])
    assert f'<a href="{workbook_url}">Classeur Excel</a>' in content
    report_url = reverse("reports:assembly", args=[plan.slug])
    assert f'<a href="{report_url}">Rapport d\'assemblée</a>' in content


def test_upload_page_names_the_plans_periods(coordinator_client, plan):
    response = coordinator_client.get(import_url(plan))

    assert response.status_code == 200
    content = html(response)
    assert 'type="file" name="file"' in content
    assert "période du plan : 2016-2017, 2017-2018." in content


# --- Upload, preview, confirm ----------------------------------------------------------------


def test_upload_shows_mapping_and_preview_and_writes_nothing(coordinator_client, plan):
    period = plan.periods.get(label="2016-2017")

    response = upload(coordinator_client, plan, xlsx())

    assert response.status_code == 200
    assert chosen_columns(response) == {
        "column_0": "code",
        "column_1": "title",
        "column_2": "means",
        "column_3": f"period:{period.pk}",
    }
    content = html(response)
    assert "Objectifs : 1 nouveau, 0 modifié, 0 inchangé" in content
    assert "Sous-objectifs : 1 nouveau, 0 modifié, 0 inchangé" in content
    assert "Actions : 1 nouvelle, 0 modifiée, 0 inchangée" in content
    for code, title in [
        ("1", "Nourrir le quartier"),
        ("1.1", "Cuisiner ensemble"),
        ("1.1.1", "Ouvrir une cuisine collective"),
    ]:
        assert re.search(rf'<td class="code">{re.escape(code)}</td>\s*<td>{title}</td>', content)
    assert CONFIRM_BUTTON in content
    assert counts() == (0, 0, 0)


def test_confirm_writes_the_plan_and_deletes_the_kept_file(coordinator_client, plan):
    preview = upload(coordinator_client, plan, xlsx())
    token = hidden(preview, "token")
    assert UploadedTable.objects.filter(token=token).exists()

    response = next_step(coordinator_client, plan, preview, "confirm")

    assert response.redirect_chain == [(change_url(plan), 302)]
    assert "Import terminé : 1 objectif créé et 0 modifié" in html(response)
    action = Action.objects.get(plan=plan, code="1.1.1")
    assert action.title == "Ouvrir une cuisine collective"
    assert action.means == "Un local prêté par la paroisse"
    assert [p.label for p in action.periods.all()] == ["2016-2017"]
    assert action.sub_objective.title == "Cuisiner ensemble"
    assert action.sub_objective.objective.title == "Nourrir le quartier"
    assert not UploadedTable.objects.filter(token=token).exists()
    assert kept_files() == []


def test_unknown_column_is_named_until_it_is_ignored(coordinator_client, plan):
    headers = ["Code", "Action", "Budget"]
    rows = [["1", "Nourrir"], ["1.1", "Cuisiner"], ["1.1.1", "Ouvrir une cuisine", "5000 $"]]

    refused = upload(coordinator_client, plan, xlsx(headers, rows))

    assert "Colonne inconnue : « Budget » (C)." in html(refused)
    assert CONFIRM_BUTTON not in html(refused)

    remapped = next_step(coordinator_client, plan, refused, "preview", column_2="ignore")

    content = html(remapped)
    assert "Colonne inconnue" not in content
    assert "Actions : 1 nouvelle, 0 modifiée, 0 inchangée" in content
    assert CONFIRM_BUTTON in content
    assert counts() == (0, 0, 0)


def test_stale_preview_is_not_applied_and_the_fresh_one_is_shown(coordinator_client, plan):
    preview = upload(coordinator_client, plan, xlsx())
    objective = ObjectiveFactory(plan=plan, number=1, title="Nourrir le quartier")
    sub = SubObjectiveFactory(objective=objective, number=1, title="Cuisiner ensemble")
    ActionFactory(sub_objective=sub, code="1.1.1", title="Ouvrir une cuisine collective")

    response = next_step(coordinator_client, plan, preview, "confirm")

    assert response.redirect_chain == []
    assert counts() == (1, 1, 1)
    content = html(response)
    assert "Le plan ou les choix de colonnes ont changé depuis l&#x27;aperçu" in content
    assert "Actions : 0 nouvelle, 1 modifiée, 0 inchangée" in content
    assert "Objectifs : 0 nouveau, 0 modifié, 1 inchangé" in content
    assert hidden(response, "fingerprint") != hidden(preview, "fingerprint")


def test_a_column_choice_changed_at_confirmation_is_previewed_first(coordinator_client, plan):
    later = plan.periods.get(label="2017-2018")
    preview = upload(coordinator_client, plan, xlsx())
    assert "Périodes : 2016-2017" in html(preview)

    response = next_step(
        coordinator_client, plan, preview, "confirm", column_3=f"period:{later.pk}"
    )

    assert counts() == (0, 0, 0)
    assert "Le plan ou les choix de colonnes ont changé depuis l&#x27;aperçu" in html(response)
    assert "Périodes : 2017-2018" in html(response)


def test_a_new_upload_deletes_the_file_of_the_previous_one(coordinator_client, plan):
    upload(coordinator_client, plan, xlsx())
    coordinator_client.get(import_url(plan))  # "Choisir un autre fichier"

    upload(coordinator_client, plan, xlsx())

    assert len(kept_files()) == 1


# --- What goes wrong -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("plan.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        ("notes.pdf", b"Des notes, pas un tableau."),
    ],
)
def test_a_file_that_is_no_spreadsheet_is_refused(coordinator_client, plan, name, data):
    response = upload(coordinator_client, plan, SimpleUploadedFile(name, data))

    assert response.status_code == 200
    assert f"« {name} » n&#x27;est pas un tableur." in html(response)
    assert 'type="file" name="file"' in html(response)
    assert counts() == (0, 0, 0)
    assert kept_files() == []


def test_an_unknown_token_sends_back_to_the_upload(coordinator_client, plan):
    response = coordinator_client.post(
        import_url(plan),
        {"step": "confirm", "token": secrets.token_hex(16), "column_1": "title"},
        follow=True,
    )

    assert response.redirect_chain == [(import_url(plan), 302)]
    assert EXPIRED in html(response)
    assert 'type="file" name="file"' in html(response)
    assert counts() == (0, 0, 0)


def test_another_users_token_counts_as_expired(coordinator_client, colleague, plan):
    preview = upload(coordinator_client, plan, xlsx())
    token = hidden(preview, "token")
    other = Client()
    other.force_login(colleague)

    response = next_step(other, plan, preview, "confirm")

    assert response.redirect_chain == [(import_url(plan), 302)]
    assert EXPIRED in html(response)
    assert counts() == (0, 0, 0)
    # The owner's upload is untouched: they can still confirm it.
    assert UploadedTable.objects.filter(token=token).exists()
    assert next_step(coordinator_client, plan, preview, "confirm").redirect_chain == [
        (change_url(plan), 302)
    ]
    assert counts() == (1, 1, 1)


def test_a_file_that_changes_nothing_offers_no_confirmation(coordinator_client, db):
    plan, _actions = build_plan(actions=3, periods=2)
    stream = io.BytesIO()
    workbook.export(plan, stream, since=datetime.date(2020, 1, 1))
    before = counts()

    response = upload(coordinator_client, plan, SimpleUploadedFile("plan.xlsx", stream.getvalue()))

    content = html(response)
    assert "Le fichier ne change rien au plan : il n'y a rien à importer." in content
    assert "Actions : 0 nouvelle, 0 modifiée, 3 inchangées" in content
    assert CONFIRM_BUTTON not in content
    assert counts() == before


def test_errors_read_in_english_when_english_is_chosen(coordinator_client, plan):
    coordinator_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = upload(coordinator_client, plan, SimpleUploadedFile("notes.pdf", b"notes"))

    assert "“notes.pdf” is not a spreadsheet." in html(response)
    assert "n&#x27;est pas un tableur" not in html(response)


# --- Who may import --------------------------------------------------------------------------


def test_a_member_who_cannot_change_plans_is_refused(member_client, member, plan):
    Membership.objects.create(coalition=plan.coalition, user=member)
    assert member_client.get(import_url(plan)).status_code == 403
    assert upload(member_client, plan, xlsx()).status_code == 403
    assert counts() == (0, 0, 0)
    assert kept_files() == []


def test_anonymous_visitors_are_sent_to_the_admin_login(client, plan):
    response = client.get(import_url(plan))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_a_missing_plan_redirects_like_the_admin_does(coordinator_client, plan):
    missing = PlanFactory.build(pk=plan.pk + 1000)

    response = coordinator_client.get(import_url(missing), follow=True)

    assert response.redirect_chain == [(reverse("admin:index"), 302)]
    assert str(missing.pk) in html(response)
