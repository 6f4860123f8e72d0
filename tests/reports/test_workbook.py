"""The funders' workbook as a funder reads it: the cover, the plan laid out as adopted with its
schedule and partners' legend, the targets, each organisation's part, the reviews' figures and
what changed since a date; in French by default, in English on request; served to members only,
at a cost in queries that does not grow with the plan."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from openpyxl import load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock

from actions.models import Action, ProgressNote, Target, TargetValue
from actions.services import change_status
from dashboard.changes import default_since
from partners.models import ActionPartner
from plans.models import Assembly, Membership, Plan, Review
from reports import workbook
from tests.dashboard.reading import login_redirect
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    CoalitionFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PeriodFactory,
    SubObjectiveFactory,
    TargetFactory,
    TargetValueFactory,
    build_plan,
)
from tests.helpers import query_counts
from tests.plans.sources import ROOT

pytestmark = pytest.mark.django_db

CASAL_FIXTURE = ROOT / "fixtures" / "casal_2016_2020.json"
LACHINE_FIXTURES = [
    ROOT / "fixtures" / "themes.json",
    ROOT / "fixtures" / "lachine_2018_2021.json",
]
CASAL_SLUG = "casal-2016-2020"
LACHINE_SLUG = "lachine-2018-2021"

FRENCH_SHEETS = ["Sommaire", "Plan", "Cibles", "Organismes", "Bilans", "Changements"]
SINCE = datetime.date(2020, 1, 1)
NBSP = "\xa0"
HEADER_ROW = 4  # the plan sheet's column headers


# --- Reading a workbook ----------------------------------------------------------------------


def open_workbook(data):
    return load_workbook(io.BytesIO(data), rich_text=True)


def downloaded(response):
    """The bytes of a streamed download."""
    assert response.streaming
    return b"".join(response.streaming_content)


def export_workbook(plan, *, since=SINCE, language="fr"):
    stream = io.BytesIO()
    workbook.export(plan, stream, since=since, language=language)
    return open_workbook(stream.getvalue())


def values(row):
    return [cell.value for cell in row]


def row_of(sheet, first_cell, *, column=0):
    """The cells of the first row whose cell in `column` says `first_cell`."""
    return next(row for row in sheet.iter_rows() if row[column].value == first_cell)


def pairs(sheet):
    """{column A: column B} for the rows of a two-column sheet such as the cover; the first
    row wins when a label comes back (the cover's table of contents names "Plan" again)."""
    found = {}
    for row in sheet.iter_rows():
        if row[0].value is not None:
            found.setdefault(row[0].value, row[1].value)
    return found


def lines(value):
    """[(text, font)] for each line of a rich-text cell; font is None for plain text."""
    found, text, font = [], "", None
    parts = value if isinstance(value, CellRichText) else [value or ""]
    for part in parts:
        part_text = part.text if isinstance(part, TextBlock) else part
        for index, piece in enumerate(part_text.split("\n")):
            if index:
                found.append((text, font))
                text, font = "", None
            if piece and font is None and isinstance(part, TextBlock):
                font = part.font
            text += piece
    found.append((text, font))
    return found


def colour(font_or_fill_colour):
    return font_or_fill_colour.rgb[-6:].upper()


def status_colour(status):
    return Action.STATUS_COLOURS[status].lstrip("#").upper()


# --- The seeded plans ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded_casal(django_db_setup, django_db_blocker):
    """The CASAL plan, loaded once for the module and rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("loaddata", CASAL_FIXTURE, verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def casal(loaded_casal, db):
    """The CASAL plan with a few actions moved on, so that statuses and progress differ."""
    plan = Plan.objects.select_related("coalition").get(slug=CASAL_SLUG)
    moves = {
        "1.1.1": (Action.Status.DONE, None),
        "1.1.2": (Action.Status.IN_PROGRESS, 50),
        "1.2.1": (Action.Status.IN_PROGRESS, 30),
        "2.1.1": (Action.Status.POSTPONED, None),
        "3.1.1": (Action.Status.ABANDONED, None),
    }
    for code, (status, completion) in moves.items():
        plan.actions.filter(code=code).update(status=status, completion=completion)
    return plan


@pytest.fixture
def lachine(db):
    call_command("loaddata", *LACHINE_FIXTURES, verbosity=0)
    return Plan.objects.select_related("coalition").get(slug=LACHINE_SLUG)


# --- Cover -----------------------------------------------------------------------------------


def test_sheets_are_named_in_french_by_default(casal):
    assert export_workbook(casal).sheetnames == FRENCH_SHEETS


def test_cover_names_the_plan_and_its_coalition(casal):
    cover = export_workbook(casal)["Sommaire"]

    assert cover["A1"].value == "Plan d'action opérationnel du CASAL 2016-2020"
    facts = pairs(cover)
    assert facts["Plan"] == "Plan d'action opérationnel du CASAL 2016-2020"
    assert facts["Coalition"] == "CASAL"
    assert facts["Période couverte"] == "du 1er avril 2016 au 31 mars 2020"
    # A date the funder can sort and compute with, not text.
    assert facts["Adopté le"] == datetime.datetime(2017, 2, 1)
    assert row_of(cover, "Adopté le")[1].number_format == "yyyy-mm-dd"


def test_cover_figures_match_the_database(casal):
    (summary,) = Action.objects.filter(plan=casal).summary()

    cover = export_workbook(casal)["Sommaire"]
    facts = pairs(cover)

    # A number shown as a percentage: 6 %, not the text "6 %".
    assert facts["Avancement estimé"] == round(summary["average_progress"]) / 100
    assert isinstance(facts["Avancement estimé"], float)
    assert row_of(cover, "Avancement estimé")[1].number_format == f'0"{NBSP}"%'
    assert facts["Produit le"] == datetime.datetime.combine(timezone.localdate(), datetime.time())
    assert facts["Actions"] == summary["total"] == 35
    assert facts["Actions en retard"] == summary["late_count"]
    assert summary["late_count"] > 0  # the CASAL plan ended in 2020 with open actions


def test_cover_says_the_counts_by_status_before_the_estimate_and_its_rule(casal):
    cover = export_workbook(casal)["Sommaire"]

    labels = [row[0].value for row in cover.iter_rows()]
    assert labels.index("Actions par statut") < labels.index("Avancement estimé")
    assert labels.index("Avancement estimé") + 1 == labels.index("Comment l'avancement est estimé")
    facts = pairs(cover)
    assert facts["Actions par statut"] == (
        "1 réalisée, 2 en cours, 30 à venir, 1 reportée, 1 abandonnée — sur 35 actions"
    )
    # (100 + 50 + 30) / 34, both actions in progress with a typed completion; the abandoned
    # action is left out.
    assert facts["Avancement estimé"] == 0.05
    assert facts["Comment l'avancement est estimé"] == (
        f"Estimation : une action réalisée compte pour 100{NBSP}%, une action abandonnée ne "
        f"compte pas ; les autres comptent pour le % déclaré, sinon en cours 50{NBSP}%, à venir "
        f"ou reportée 0{NBSP}%. Dont 2 actions avec un avancement déclaré."
    )


def test_cover_counts_actions_by_status_as_the_database_does(casal):
    (summary,) = Action.objects.filter(plan=casal).summary()
    cover = export_workbook(casal)["Sommaire"]

    header = row_of(cover, "Statut")[0].row
    shown = {
        row[0].value: row[1].value
        for row in cover.iter_rows(min_row=header + 1, max_row=header + len(Action.Status))
    }

    assert shown == {str(s.label): summary[f"status_{s}"] for s in Action.Status}
    assert shown == {
        "À venir": 30,
        "En cours": 2,
        "Réalisée": 1,
        "Reportée": 1,
        "Abandonnée": 1,
    }


# --- The plan sheet --------------------------------------------------------------------------


def test_plan_sheet_headers_name_the_columns_and_the_plans_periods(casal):
    sheet = export_workbook(casal)["Plan"]

    assert values(sheet[HEADER_ROW]) == [
        "Code",
        "Action",
        "Moyens d'action et conditions de réalisation",
        "Cibles et résultats attendus",
        "Porteurs et partenaires",
        "2016-2018",
        "2018-2019",
        "2019-2020",
        "Statut",
        "Avancement (%)",
        "En retard",
        "Dernière mise à jour",
    ]


def test_plan_sheet_lists_objectives_then_sub_objectives_then_their_actions(casal):
    expected = []
    for objective in casal.objectives.order_by("number"):
        expected.append(objective.code)
        for sub in objective.sub_objectives.order_by("number"):
            expected.append(sub.code)
            expected += sub.actions.order_by("sort_key").values_list("code", flat=True)
    sheet = export_workbook(casal)["Plan"]

    codes = [row[0].value for row in sheet.iter_rows(min_row=HEADER_ROW + 1)]

    assert codes == expected
    assert codes[:3] == ["1", "1.1", "1.1.1"]
    first_objective = row_of(sheet, "1")
    assert first_objective[1].value.startswith("Objectif 1 : ")
    assert first_objective[1].value.endswith(casal.objectives.get(number=1).title)
    assert (
        row_of(sheet, "1.1")[1].value
        == casal.objectives.get(number=1).sub_objectives.get(number=1).title
    )


def test_plan_sheet_shows_every_action_exactly_once(casal):
    sheet = export_workbook(casal)["Plan"]

    action_codes = [
        row[0].value
        for row in sheet.iter_rows(min_row=HEADER_ROW + 1)
        if row[0].value.count(".") >= 2
    ]

    assert sorted(action_codes) == sorted(casal.actions.values_list("code", flat=True))
    assert len(action_codes) == len(set(action_codes)) == 35


def test_plan_sheet_marks_an_x_in_exactly_the_scheduled_periods(casal):
    sheet = export_workbook(casal)["Plan"]
    labels = values(sheet[HEADER_ROW])[5:8]

    shown = {
        row[0].value: {label for label, cell in zip(labels, row[5:8], strict=True) if cell.value}
        for row in sheet.iter_rows(min_row=HEADER_ROW + 1)
        if row[0].value.count(".") >= 2
    }
    marks = {
        cell.value
        for row in sheet.iter_rows(min_row=HEADER_ROW + 1, min_col=6, max_col=8)
        for cell in row
        if cell.value
    }

    assert shown == {
        action.code: set(action.periods.values_list("label", flat=True))
        for action in casal.actions.prefetch_related("periods")
    }
    assert shown["1.2.1"] == {"2016-2018", "2018-2019", "2019-2020"}
    assert shown["1.2.2"] == {"2019-2020"}
    assert marks == {"X"}


def test_plan_sheet_status_is_written_and_filled_in_the_status_colour(casal):
    sheet = export_workbook(casal)["Plan"]
    status_column = values(sheet[HEADER_ROW]).index("Statut")

    for code, status in [
        ("1.1.1", Action.Status.DONE),
        ("1.1.2", Action.Status.IN_PROGRESS),
        ("1.1.3", Action.Status.PLANNED),
        ("2.1.1", Action.Status.POSTPONED),
        ("3.1.1", Action.Status.ABANDONED),
    ]:
        cell = row_of(sheet, code)[status_column]
        assert cell.value == str(Action.Status(status).label)
        assert colour(cell.fill.fgColor) == status_colour(status)


def test_plan_sheet_shows_progress_and_lateness(casal):
    sheet = export_workbook(casal)["Plan"]

    # Code, progress, late: done is 100 and never late; the abandoned one has no progress.
    assert [values(row_of(sheet, code))[9:11] for code in ["1.1.1", "1.2.1", "3.1.1"]] == [
        [100, None],
        [30, "Oui"],
        [None, None],
    ]


def test_plan_sheet_highlights_the_current_period(db):
    plan, _actions = build_plan(actions=1)
    today = timezone.localdate()
    PeriodFactory(
        plan=plan,
        label="Cette année",
        start=today - datetime.timedelta(days=30),
        end=today + datetime.timedelta(days=300),
    )

    header = export_workbook(plan)["Plan"][HEADER_ROW]

    fills = {cell.value: colour(cell.fill.fgColor) for cell in header}
    assert fills["Cette année"] == "FFF2CC"
    assert fills["2016-2017"] == fills["Code"] == "DCE3EC"


def test_plan_sheet_is_set_up_for_reading_on_screen_and_on_paper(casal):
    sheet = export_workbook(casal)["Plan"]

    assert sheet.freeze_panes == "C5"
    assert sheet.auto_filter.ref == f"A4:L{sheet.max_row}"
    assert sheet.max_row == HEADER_ROW + 3 + 14 + 35  # objectives, sub-objectives, actions
    assert sheet.print_title_rows == "$4:$4"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage


def test_plan_sheet_wraps_the_means_of_action(casal):
    sheet = export_workbook(casal)["Plan"]
    means = row_of(sheet, "1.1.1")[2]

    assert means.value == casal.actions.get(code="1.1.1").means
    assert means.alignment.wrap_text


# --- The partners cell and its legend --------------------------------------------------------


def test_partners_cell_puts_each_partner_on_its_line_in_the_legend_colour(casal):
    action = casal.actions.get(code="1.1.1")
    links = list(action.partner_links.order_by("order", "id"))
    carrier, declined = links[0], links[1]
    carrier.role = ActionPartner.Role.CARRIER
    carrier.confirmation = ActionPartner.Confirmation.CONFIRMED_MEMBER
    carrier.save()
    declined.confirmation = ActionPartner.Confirmation.DECLINED
    declined.save()

    cell = row_of(export_workbook(casal)["Plan"], "1.1.1")[4]

    shown = lines(cell.value)
    assert [text for text, _font in shown] == [link.label_in_source for link in links]
    first, second = shown[0][1], shown[1][1]
    assert first.b
    assert colour(first.color) == "1A1A1A"
    assert not first.strike
    assert second.strike
    assert colour(second.color) == ActionPartner.LEGEND["declined"][0].lstrip("#").upper()
    assert not second.b
    for _text, font in shown[2:]:
        assert colour(font.color) == ActionPartner.LEGEND["not_specified"][0].lstrip("#").upper()


def test_partners_cell_ends_with_a_question_mark_when_a_carrier_is_to_be_found(casal):
    action = casal.actions.get(code="1.1.1")
    Action.objects.filter(pk=action.pk).update(carrier_to_be_found=True)
    labels = list(action.partner_links.order_by("order", "id").values_list("label_in_source"))

    shown = lines(row_of(export_workbook(casal)["Plan"], "1.1.1")[4].value)

    assert [text for text, _font in shown] == [label for (label,) in labels] + ["?"]
    question = shown[-1][1]
    assert question.b
    assert colour(question.color) == ActionPartner.LEGEND["potential"][0].lstrip("#").upper()


def test_an_action_whose_carrier_is_to_be_found_reads_as_a_question_mark(casal):
    # 1.2.2 has no partner in the adopted plan, only "?".
    shown = lines(row_of(export_workbook(casal)["Plan"], "1.2.2")[4].value)

    assert [text for text, _font in shown] == ["?"]


def test_legend_names_each_confirmation_in_its_colour(casal):
    legend = export_workbook(casal)["Plan"]["A3"].value

    assert str(legend).startswith("Légende des porteurs et partenaires : ")
    runs = {block.text: block.font for block in legend if isinstance(block, TextBlock)}
    for value, label, hex_colour, colour_name in ActionPartner.legend_entries():
        if value == ActionPartner.Confirmation.NOT_SPECIFIED:
            continue
        font = runs[f"{label} ({colour_name})"]
        assert colour(font.color) == hex_colour.lstrip("#").upper()
    assert "Membre confirmé (noir)" in str(legend)
    assert runs["A décliné (gris barré)"].strike
    assert "« ? » : porteur à trouver" in str(legend)


# --- Targets ---------------------------------------------------------------------------------


@pytest.fixture
def counted_target(db):
    plan, (action,) = build_plan(actions=1, partners_per_action=0)
    target = TargetFactory(
        action=action,
        description="Paniers distribués",
        kind=Target.Kind.COUNT,
        unit="paniers",
        target_value=Decimal(50),
        order=5,
    )
    TargetValueFactory(target=target, value=Decimal(20), date=datetime.date(2017, 1, 15))
    TargetValueFactory(target=target, value=Decimal(35), date=datetime.date(2018, 6, 1))
    return plan, action


def test_targets_sheet_shows_the_latest_value_and_how_much_of_the_target_it_reaches(
    counted_target,
):
    plan, action = counted_target
    sheet = export_workbook(plan)["Cibles"]

    assert values(sheet[1]) == [
        "Code",
        "Action",
        "Cible ou résultat attendu",
        "Type",
        "Unité",
        "Valeur cible",
        "Valeur atteinte",
        "En date du",
        "Atteint (%)",
        "Livré",
        "Valeurs précédentes",
    ]
    row = values(row_of(sheet, "Paniers distribués", column=2))
    assert row[:9] == [
        action.code,
        action.title,
        "Paniers distribués",
        "Nombre",
        "paniers",
        50,
        35,
        datetime.datetime(2018, 6, 1),
        70,
    ]
    assert row[9] in (None, "")  # a count is never "delivered"
    assert row[10] == "2017-01-15 : 20"


def test_targets_sheet_says_whether_a_deliverable_was_delivered(counted_target):
    plan, action = counted_target
    deliverable = action.targets.get(kind=Target.Kind.DELIVERABLE)
    TargetFactory(action=action, description="Bottin publié", is_done=True, order=6)

    sheet = export_workbook(plan)["Cibles"]

    assert row_of(sheet, deliverable.description, column=2)[9].value == "Non"
    assert row_of(sheet, "Bottin publié", column=2)[9].value == "Oui"


# --- Organisations ---------------------------------------------------------------------------


def test_organisations_sheet_has_one_row_per_link_sorted_by_organisation(db):
    plan, (first, second) = build_plan(actions=2, partners_per_action=0)
    Action.objects.filter(pk=second.pk).update(status=Action.Status.DONE)
    zephyr = OrganisationFactory(name="Zéphyr Laval")
    moisson = OrganisationFactory(name="Moisson Laval")
    abri = OrganisationFactory(name="abri des Îles")
    for action, organisation, role, confirmation in [
        (second, zephyr, "carrier", "confirmed_member"),
        (first, zephyr, "partner", "potential"),
        (first, moisson, "carrier", "member_to_validate"),
        (second, abri, "partner", "declined"),
    ]:
        ActionPartnerFactory(
            action=action, organisation=organisation, role=role, confirmation=confirmation
        )

    sheet = export_workbook(plan)["Organismes"]

    assert values(sheet[1]) == [
        "Organisme",
        "Type",
        "Rôle",
        "Confirmation",
        "Code",
        "Action",
        "Statut",
        "Avancement (%)",
        "En retard",
    ]
    rows = [values(row) for row in sheet.iter_rows(min_row=2)]
    assert [[r[0], r[2], r[3], r[4], r[6]] for r in rows] == [
        ["abri des Îles", "Partenaire", "A décliné", "1.1.2", "Réalisée"],
        ["Moisson Laval", "Porteur", "Membre à valider", "1.1.1", "À venir"],
        [
            "Zéphyr Laval",
            "Partenaire",
            "Collaborateur potentiel (à solliciter ou valider)",
            "1.1.1",
            "À venir",
        ],
        ["Zéphyr Laval", "Porteur", "Membre confirmé", "1.1.2", "Réalisée"],
    ]
    assert sheet.auto_filter.ref == "A1:I5"


# --- Reviews ---------------------------------------------------------------------------------


def test_reviews_sheet_gives_funding_as_amounts_in_dollars_with_their_total(lachine):
    sheet = export_workbook(lachine)["Bilans"]

    header = row_of(sheet, "Source de financement")[0].row
    funding = [
        (row[0].value, row[1].value, row[1].number_format)
        for row in sheet.iter_rows(min_row=header + 1, max_row=header + 3)
    ]

    assert funding == [
        ("PIC", 81626, '#,##0 "$"'),
        ("QeF/TCJL", 16000, '#,##0 "$"'),
        ("Total", 97626, '#,##0 "$"'),
    ]
    assert row_of(sheet, "Total")[1].font.b


def test_reviews_sheet_counts_the_meetings_held(lachine):
    sheet = export_workbook(lachine)["Bilans"]

    header = row_of(sheet, "Comité ou instance")[0].row
    meetings = [
        (row[0].value, row[1].value)
        for row in sheet.iter_rows(min_row=header + 1, max_row=header + 3)
    ]

    assert meetings == [
        ("rencontres de coco (comité de coordination)", 12),
        ("rencontres avec Centraide", 2),
        ("rencontres du comité approvisionnement", 5),
    ]
    assert row_of(sheet, "Retour sur l'an 1")[1].value == (
        "Du mois d'août 2017 au mois de mai 2018 (10 mois)"
    )


def test_reviews_sheet_says_so_when_there_is_no_review(casal):
    sheet = export_workbook(casal)["Bilans"]

    assert values(sheet["A"])[:2] == [
        "Bilans du plan",
        "Aucun bilan n'est enregistré pour ce plan.",
    ]


# --- Changes ---------------------------------------------------------------------------------


def days_ago(days):
    return timezone.localdate() - datetime.timedelta(days=days)


def backdate(plan, day):
    """Move everything already recorded about the plan's actions to `day`, at noon."""
    when = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
    Action.history.filter(plan_id=plan.pk).update(history_date=when)
    Target.history.filter(action__plan_id=plan.pk).update(history_date=when)
    TargetValue.history.filter(target__action__plan_id=plan.pk).update(history_date=when)
    ActionPartner.history.filter(action__plan_id=plan.pk).update(history_date=when)
    ProgressNote.objects.filter(action__plan_id=plan.pk).update(created_at=when, date=day)


def test_changes_sheet_lists_a_status_change_since_the_date_but_not_one_before(db, coordinator):
    plan, (early, late) = build_plan(actions=2, partners_per_action=0)
    change_status(action=early, status=Action.Status.IN_PROGRESS, user=coordinator)
    backdate(plan, days_ago(40))
    change_status(
        action=late,
        status=Action.Status.POSTPONED,
        user=coordinator,
        reason="Le financement arrive en juin.",
        without_date=True,
    )

    sheet = export_workbook(plan, since=days_ago(30))["Changements"]

    assert sheet["A1"].value.startswith("Changements depuis le ")
    assert sheet["A2"].value == "1 changement, du plus récent au plus ancien."
    assert values(sheet[3]) == ["Date", "Code", "Action", "Type", "Changement", "Détail", "Par"]
    assert [values(row) for row in sheet.iter_rows(min_row=4)] == [
        [
            datetime.datetime.combine(timezone.localdate(), datetime.time()),
            "1.1.2",
            late.title,
            "Statut",
            "Statut : À venir → Reportée",
            "Le financement arrive en juin.\n\nReportée sans nouvelle date.",
            "coordo",
        ]
    ]
    assert sheet.freeze_panes == "A4"


def test_cover_counts_the_changes_since_the_date(db, coordinator):
    plan, (action,) = build_plan(actions=1, partners_per_action=0)
    backdate(plan, days_ago(40))
    change_status(action=action, status=Action.Status.IN_PROGRESS, user=coordinator)

    facts = pairs(export_workbook(plan, since=days_ago(30))["Sommaire"])

    (label,) = [key for key in facts if key.startswith("Changements depuis le ")]
    assert facts[label] == 1


# --- English ---------------------------------------------------------------------------------


def english(text):
    with translation.override("en"):
        return gettext(text)


def test_english_workbook_names_its_sheets_as_the_catalogue_does(casal):
    names = export_workbook(casal, language="en").sheetnames

    assert names == [english(name) for name in FRENCH_SHEETS]
    assert names != FRENCH_SHEETS
    assert translation.get_language() == "fr"  # the export leaves the language as it was


def test_english_workbook_does_not_keep_the_french_sheet_names(casal):
    names = export_workbook(casal, language="en").sheetnames

    assert "Sommaire" not in names
    assert "Cibles" not in names


def test_english_workbook_writes_statuses_in_english(casal):
    sheet = export_workbook(casal, language="en")["Plan"]
    with translation.override("en"):
        done = str(Action.Status.DONE.label)
    status_column = values(sheet[HEADER_ROW]).index(english("Statut"))

    assert done != "Réalisée"
    assert row_of(sheet, "1.1.1")[status_column].value == done


# --- The view --------------------------------------------------------------------------------


def workbook_url(plan, query=""):
    return reverse("reports:workbook", args=[plan.slug]) + query


@pytest.fixture
def private_site(settings):
    settings.PUBLIC_DASHBOARD = False
    return settings


@pytest.fixture
def small_plan(db):
    plan, _actions = build_plan(actions=3)
    return plan


def test_a_member_downloads_the_workbook_as_an_attachment(client, member, small_plan):
    Membership.objects.create(coalition=small_plan.coalition, user=member)
    client.force_login(member)

    response = client.get(workbook_url(small_plan))

    assert response.status_code == 200
    assert response["Content-Type"] == workbook.CONTENT_TYPE
    today = timezone.localdate()
    assert response["Content-Disposition"] == (
        f'attachment; filename="{small_plan.slug}_{today:%Y-%m-%d}_fr.xlsx"'
    )
    book = open_workbook(downloaded(response))
    assert book.sheetnames == FRENCH_SHEETS
    assert book["Sommaire"]["A1"].value == small_plan.title


def test_an_outsider_is_told_the_workbook_does_not_exist(
    client, outsider, small_plan, private_site
):
    client.force_login(outsider)

    assert client.get(workbook_url(small_plan)).status_code == 404


def test_a_member_of_another_coalition_cannot_download_it(client, member, small_plan):
    Membership.objects.create(coalition=CoalitionFactory(), user=member)
    client.force_login(member)

    assert client.get(workbook_url(small_plan)).status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, small_plan, private_site):
    response = client.get(workbook_url(small_plan))

    assert response.status_code == 302
    assert response.url == login_redirect(workbook_url(small_plan))


def test_the_view_honours_the_chosen_date_and_language(client, member, coordinator, db):
    plan, (action, _other) = build_plan(actions=2, partners_per_action=0)
    Membership.objects.create(coalition=plan.coalition, user=member)
    change_status(action=action, status=Action.Status.IN_PROGRESS, user=coordinator)
    backdate(plan, datetime.date(2021, 6, 1))  # after 2020-01-01, long before the default
    client.force_login(member)

    default = open_workbook(downloaded(client.get(workbook_url(plan))))
    english_response = client.get(workbook_url(plan, "?since=2020-01-01&language=en"))
    chosen = open_workbook(downloaded(english_response))

    assert default.sheetnames == FRENCH_SHEETS
    assert default["Changements"].max_row == 3  # title, count, header: nothing in 30 days
    assert chosen.sheetnames == [english(name) for name in FRENCH_SHEETS]
    changes = chosen[english("Changements")]
    dates = {row[0].value for row in changes.iter_rows(min_row=4)}
    codes = {row[1].value for row in changes.iter_rows(min_row=4)}
    assert dates == {datetime.datetime(2021, 6, 1)}
    assert action.code in codes
    # The English copy does not take the French one's name in the downloads folder.
    assert english_response["Content-Disposition"].endswith(
        f'filename="{plan.slug}_{timezone.localdate():%Y-%m-%d}_en.xlsx"'
    )


def test_an_invalid_date_falls_back_to_the_default(client, member, small_plan):
    Membership.objects.create(coalition=small_plan.coalition, user=member)
    client.force_login(member)

    response = client.get(workbook_url(small_plan, "?since=hier"))

    assert response.status_code == 200
    assert open_workbook(downloaded(response)).sheetnames == FRENCH_SHEETS


# Actions in the plan, and partners, counted targets, values and changes per action.
# The smallest cap the view passes at the large size; the same at both sizes. 4 more since
# the rows are read a chunk at a time (issue 16): the roll-ups are counted by a query of
# their own, and the targets' and organisations' sheets read their own rows.
QUERY_CAP = 42


def test_workbook_query_count_does_not_grow_with_the_plan(
    client, coordinator, django_assert_max_num_queries
):
    # rich_plan has what every sheet reads: partners, counted targets with values, a funded
    # review, status changes and notes.
    def check(response, data, actions):
        assert response.status_code == 200
        book = open_workbook(response.streamed)
        assert row_of(book["Plan"], data.action.code)[1].value == data.action.title
        kinds = [row[3].value for row in book["Changements"].iter_rows(min_row=4)]
        assert kinds.count("Statut") == actions  # one status change per action

    counts = query_counts(
        client,
        coordinator,
        django_assert_max_num_queries,
        address=lambda data: workbook_url(data.plan),
        cap=QUERY_CAP,
        check=check,
    )

    assert counts[0] == counts[1], f"{counts[0]} queries when small, {counts[1]} when large"


def test_workbook_query_count_does_not_grow_with_the_reviews(db, django_assert_max_num_queries):
    counts = []
    for reviews in (1, 4):
        plan, _actions = build_plan(actions=2)
        for year in range(reviews):
            # An assembly without a title, as most are entered.
            assembly = Assembly.objects.create(
                coalition=plan.coalition, date=datetime.date(2018 + year, 4, 5)
            )
            Review.objects.create(
                plan=plan,
                title=f"Bilan de l'an {year + 1}",
                start=datetime.date(2017 + year, 4, 1),
                end=datetime.date(2018 + year, 3, 31),
                presented_at=assembly,
            )
        plan = Plan.objects.select_related("coalition").get(pk=plan.pk)
        with django_assert_max_num_queries(40) as captured:
            sheet = export_workbook(plan)["Bilans"]
        assert (
            row_of(sheet, "Bilan de l'an 1")[2].value == "Présenté à l'assemblée du 5 avril 2018"
        )
        counts.append(len(captured))

    assert counts[0] == counts[1], f"{counts[0]} queries for 1 review, {counts[1]} for 4"


def test_objective_and_sub_objective_rows_show_their_roll_up(db):
    plan = build_plan(actions=0)[0]
    sub = SubObjectiveFactory(objective=ObjectiveFactory(plan=plan, number=2), number=1)
    ActionFactory(sub_objective=sub, code="2.1.1", status=Action.Status.DONE)
    ActionFactory(sub_objective=sub, code="2.1.2", completion=20)

    sheet = export_workbook(plan)["Plan"]

    # (code, progress) of the section rows: 100 and 20 average to 60.
    assert [values(row_of(sheet, code))[-3] for code in ["2", "2.1"]] == [60, 60]


def every_value(book):
    return {sheet.title: [values(row) for row in sheet.iter_rows()] for sheet in book}


def test_the_download_is_streamed_and_holds_the_whole_workbook(client, member, db):
    plan, _actions = build_plan(actions=4)
    Membership.objects.create(coalition=plan.coalition, user=member)
    client.force_login(member)

    response = client.get(workbook_url(plan))
    pieces = list(response.streaming_content)

    # Bytes go out before the last row is written: the first piece is not the whole file.
    assert len(pieces) > 1
    assert pieces[0].startswith(b"PK")
    streamed = open_workbook(b"".join(pieces))
    assert every_value(streamed) == every_value(
        export_workbook(plan, since=since_by_default(plan))
    )
    assert streamed["Plan"].freeze_panes == "C5"
    assert streamed["Plan"].print_title_rows == "$4:$4"


def since_by_default(plan):
    """The date the view takes when none is chosen."""
    return default_since(list(plan.coalition.assemblies.all()), timezone.localdate())[0]


def test_a_plan_read_in_many_chunks_gives_the_same_workbook(db, monkeypatch):
    plan, _actions = build_plan(actions=7, partners_per_action=2)
    plan = Plan.objects.select_related("coalition").get(pk=plan.pk)
    whole = every_value(export_workbook(plan))

    monkeypatch.setattr(workbook, "CHUNK_SIZE", 2)
    in_chunks = every_value(export_workbook(plan))

    assert in_chunks == whole
    assert len(in_chunks["Plan"]) > HEADER_ROW + 7


@pytest.mark.parametrize("chunk_size", [2, 3])
def test_workbook_queries_grow_by_chunk_not_by_row(db, monkeypatch, chunk_size):
    """Each chunk of actions, targets or links costs a few queries, whatever its rows."""
    monkeypatch.setattr(workbook, "CHUNK_SIZE", chunk_size)
    counts = []
    for actions in (2 * chunk_size, 4 * chunk_size):
        plan, _actions = build_plan(actions=actions, partners_per_action=1)
        plan = Plan.objects.select_related("coalition").get(pk=plan.pk)
        with CaptureQueriesContext(connection) as captured:
            export_workbook(plan)
        counts.append(len(captured))

    # Twice the actions: twice the chunks of actions, targets and links, each chunk at
    # most 4 queries (its rows and up to 3 kinds of related rows) more.
    chunks_added = 3 * 2
    assert counts[1] - counts[0] <= 4 * chunks_added, counts


def test_the_first_bytes_leave_before_the_plan_is_read(db):
    plan, _actions = build_plan(actions=2)
    plan = Plan.objects.select_related("coalition").get(pk=plan.pk)
    pieces = workbook.chunks(plan, since=SINCE)

    with CaptureQueriesContext(connection) as captured:
        first = next(pieces)

    assert first.startswith(b"PK")  # a zip's first local header
    assert len(captured) == 0, [query["sql"] for query in captured]
    book = open_workbook(first + b"".join(pieces))
    assert book["Sommaire"]["A1"].value == plan.title
