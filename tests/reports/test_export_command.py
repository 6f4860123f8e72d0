"""`manage.py export_plan`: the funders' workbook written to a file from the command line."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import load_workbook

from actions.models import Action
from actions.services import change_status
from tests.factories import PlanFactory, build_plan

pytestmark = pytest.mark.django_db

FRENCH_SHEETS = ["Sommaire", "Plan", "Cibles", "Organismes", "Bilans", "Changements"]


def export(*args):
    """Run the command; what it printed."""
    out = io.StringIO()
    call_command("export_plan", *args, stdout=out)
    return out.getvalue()


def test_writes_a_readable_workbook_where_it_is_told(tmp_path):
    plan, actions = build_plan(actions=3, title="Plan d'action du CASAL")
    path = tmp_path / "x.xlsx"

    printed = export(plan.slug, "--output", str(path))

    assert printed.strip() == str(path)
    book = load_workbook(path, rich_text=True)
    assert book.sheetnames == FRENCH_SHEETS
    assert book["Sommaire"]["A1"].value == "Plan d'action du CASAL"
    plan_codes = [row[0].value for row in book["Plan"].iter_rows(min_row=5)]
    assert plan_codes == ["1", "1.1", *(action.code for action in actions)]


def test_writes_the_changes_since_the_date_given(tmp_path, coordinator):
    plan, (action,) = build_plan(actions=1, partners_per_action=0)
    change_status(action=action, status=Action.Status.DONE, user=coordinator)
    path = tmp_path / "x.xlsx"
    later = timezone.localdate() + datetime.timedelta(days=2)

    export(plan.slug, "--output", str(path), "--since", later.isoformat())

    changes = load_workbook(path)["Changements"]
    assert changes["A2"].value == "0 changement, du plus récent au plus ancien."
    assert changes.max_row == 3


def test_unknown_plan_is_refused_naming_the_known_plans(tmp_path):
    PlanFactory(slug="casal-2016-2020")
    PlanFactory(slug="lachine-2018-2021")
    path = tmp_path / "x.xlsx"

    with pytest.raises(CommandError) as error:
        export("inconnu", "--output", str(path))

    message = str(error.value)
    assert "« inconnu »" in message
    assert "casal-2016-2020" in message
    assert "lachine-2018-2021" in message
    assert not path.exists()


def test_a_since_that_is_not_a_date_is_refused(tmp_path):
    plan, _actions = build_plan(actions=1)
    path = tmp_path / "x.xlsx"

    with pytest.raises(CommandError, match="AAAA-MM-JJ"):
        export(plan.slug, "--output", str(path), "--since", "01/02/2020")

    assert not path.exists()


def test_names_the_file_by_plan_day_and_language_by_default(tmp_path, monkeypatch):
    plan, _actions = build_plan(actions=1)
    monkeypatch.chdir(tmp_path)
    today = f"{timezone.localdate():%Y-%m-%d}"

    french = export(plan.slug).strip()
    english = export(plan.slug, "--language", "en").strip()

    # Side by side in one folder, neither copy overwrites the other.
    assert french == f"{plan.slug}_{today}_fr.xlsx"
    assert english == f"{plan.slug}_{today}_en.xlsx"
    assert load_workbook(tmp_path / english).sheetnames[0] == "Summary"
