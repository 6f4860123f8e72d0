"""Importing a plan from its own table.

The funders' workbook read back changes nothing; a Word table fills an empty plan; an edited
table updates a plan and shows each change before writing it; and a bad file says where and
what is wrong, and writes nothing.
"""

import csv
import datetime
import io

import pytest
from msoffcrypto.format.ooxml import OOXMLFile
from openpyxl import Workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Font

from actions.models import Action, ProgressNote
from imports import table_import
from imports.table_import import IGNORE, TableError
from partners.models import ActionPartner, Organisation
from plans.models import Objective, SubObjective
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PeriodFactory,
    PlanFactory,
    SubObjectiveFactory,
)
from tests.imports.helpers import HISTORY_MODELS, exported, preview_of, snapshot

pytestmark = pytest.mark.django_db

WRITTEN_MODELS = (*HISTORY_MODELS, ProgressNote)

# The Word table of a plan, saved as Excel: a title row, a blank row, headers on row 3.
TITLE = "Plan d'action 2016-2020 — Table de concertation en sécurité alimentaire de Laval"
WORD_HEADERS = [
    "Actions",
    "Moyens d'action et conditions de réalisation",
    "Cibles et résultats attendus",
    "Porteurs et partenaires",
    "2016-2018",
    "2018-2019",
]
OBJECTIVE_TITLE = "Soutenir l'accès à une alimentation saine et abordable"
SUB_TITLE = "Promouvoir l’achat local auprès des organismes"
ACTION_TITLE = "S'arrimer aux marchés publics de Laval"
MEANS = "Rencontrer les organisateurs des marchés; réserver un kiosque."
TARGETS = ["Deux marchés publics partenaires", "Un kiosque tenu à chaque saison"]
WORD_ROWS = [
    [f"OBJECTIF 1 : {OBJECTIVE_TITLE}"],
    [f"1.1 {SUB_TITLE}"],
    [f"1.1.1 {ACTION_TITLE}", MEANS, "\n".join(TARGETS), "CSDL\nVille de Laval", "X", ""],
]
# The same plan with a code column, the way the exported workbook writes it.
CODE_HEADERS = [
    "Code",
    "Action",
    "Moyens d'action et conditions de réalisation",
    "2016-2018",
    "2018-2019",
    "Statut",
    "Avancement (%)",
    "Raison du changement de statut",
]
FIRST_ROW = 4  # the first row under the headers


# --------------------------------------------------------------------------- helpers


def xlsx(headers, rows, *, title=TITLE):
    """The bytes of a workbook: a title row, a blank row, the headers on row 3, the rows."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Feuil1"
    sheet["A1"] = title
    for column, header in enumerate(headers, start=1):
        sheet.cell(3, column, header)
    for offset, values in enumerate(rows):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(FIRST_ROW + offset, column)
            if isinstance(value, tuple):  # (value, {cell attribute: style})
                value, style = value
                for name, setting in style.items():
                    setattr(cell, name, setting)
            cell.value = value
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def code_rows(*actions):
    """Objective 1 and sub-objective 1.1 with a code column, then the action rows."""
    return [["1", f"Objectif 1 : {OBJECTIVE_TITLE}"], ["1.1", SUB_TITLE], *actions]


def import_file(plan, data, user, filename="plan.xlsx"):
    preview = preview_of(plan, data, filename)
    table_import.apply(preview, user=user)
    return preview


def written():
    return {model.__name__: model.objects.count() for model in WRITTEN_MODELS}


def changes(entry):
    return {str(label): (str(before), str(after)) for label, before, after in entry.changes}


def refuse(plan, data, filename="plan.xlsx", mapping=None):
    """The TableError's messages, checking that nothing was written on the way."""
    before = written()
    with pytest.raises(TableError) as error:
        preview_of(plan, data, filename, mapping)
    assert written() == before
    return error.value.messages


def only_message(messages):
    assert len(messages) == 1, messages
    return messages[0]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def laval_plan():
    plan = PlanFactory(objective_label="Objectif")
    for label, start, end in [("2016-2018", 2016, 2018), ("2018-2019", 2018, 2019)]:
        PeriodFactory(
            plan=plan,
            label=label,
            start=datetime.date(start, 4, 1),
            end=datetime.date(end, 3, 31),
        )
    return plan


@pytest.fixture
def csdl():
    return OrganisationFactory(name="Centre de services scolaire de Laval", short_name="CSDL")


@pytest.fixture
def existing_action(laval_plan):
    """Action 1.1.1 as a previous import left it: planned in 2016-2018."""
    objective = ObjectiveFactory(plan=laval_plan, number=1, title=OBJECTIVE_TITLE)
    sub = SubObjectiveFactory(objective=objective, number=1, title=SUB_TITLE)
    action = ActionFactory(sub_objective=sub, code="1.1.1", title=ACTION_TITLE, means=MEANS)
    action.periods.set(laval_plan.periods.filter(label="2016-2018"))
    return action


# --------------------------------------------------------------------------- round trip


def vary(plan):
    """Give the plan every legend entry, role and status the workbook can show."""
    legend = [
        (ActionPartner.Role.CARRIER, ActionPartner.Confirmation.CONFIRMED_MEMBER),
        (ActionPartner.Role.CARRIER, ActionPartner.Confirmation.DECLINED),
        (ActionPartner.Role.PARTNER, ActionPartner.Confirmation.DECLINED),
        (ActionPartner.Role.PARTNER, ActionPartner.Confirmation.CONFIRMED_COLLABORATOR),
        (ActionPartner.Role.CARRIER, ActionPartner.Confirmation.CONFIRMED_COLLABORATOR),
        (ActionPartner.Role.NOT_SPECIFIED, ActionPartner.Confirmation.POTENTIAL),
        (ActionPartner.Role.PARTNER, ActionPartner.Confirmation.MEMBER_TO_VALIDATE),
        (ActionPartner.Role.PARTNER, ActionPartner.Confirmation.CONFIRMED_MEMBER),
    ]
    links = list(ActionPartner.objects.filter(action__plan=plan).order_by("pk")[: len(legend)])
    actions = list(plan.actions.order_by("sort_key"))
    while len(links) < len(legend):  # Lachine's plan names few partners
        links.append(ActionPartnerFactory(action=actions[len(links)], order=9))
    for link, (role, confirmation) in zip(links, legend, strict=True):
        ActionPartner.objects.filter(pk=link.pk).update(role=role, confirmation=confirmation)
    Action.objects.filter(pk=links[0].action_id).update(carrier_to_be_found=True)
    for action, status, completion in zip(
        actions[:4],
        [
            Action.Status.IN_PROGRESS,
            Action.Status.DONE,
            Action.Status.POSTPONED,
            Action.Status.ABANDONED,
        ],
        [40, None, 20, None],
        strict=True,
    ):
        Action.objects.filter(pk=action.pk).update(status=status, completion=completion)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_exported_workbook_reads_back_as_no_change(seeded_plan, coordinator, language):
    data = exported(seeded_plan, language)
    before = snapshot(seeded_plan)

    preview = preview_of(seeded_plan, data)
    assert not preview.has_changes
    assert preview.new_organisations == []
    counts = preview.counts()
    assert counts["action"] == {"new": 0, "changed": 0, "unchanged": seeded_plan.actions.count()}
    assert counts["objective"]["unchanged"] == seeded_plan.objectives.count()

    table_import.apply(preview, user=coordinator)
    assert snapshot(seeded_plan) == before


@pytest.mark.parametrize("language", ["fr", "en"])
def test_legend_roles_statuses_and_carrier_to_be_found_read_back_as_no_change(
    seeded_plan, coordinator, language
):
    vary(seeded_plan)
    data = exported(seeded_plan, language)
    before = snapshot(seeded_plan)

    preview = preview_of(seeded_plan, data)
    changed = [(e.code, e.changes, e.targets) for e in preview.entries if e.is_changed]
    assert changed == []
    assert not preview.has_changes

    table_import.apply(preview, user=coordinator)
    assert snapshot(seeded_plan) == before


def test_progress_the_workbook_estimates_reads_back_as_no_change(seeded_plan, coordinator):
    """The workbook shows 50 for an action in progress that nobody reported, and 100 for a
    done action whatever was typed: neither becomes a typed completion when read back."""
    in_progress, done = list(seeded_plan.actions.order_by("sort_key")[:2])
    Action.objects.filter(pk=in_progress.pk).update(
        status=Action.Status.IN_PROGRESS, completion=None
    )
    Action.objects.filter(pk=done.pk).update(status=Action.Status.DONE, completion=80)
    data = exported(seeded_plan)
    before = snapshot(seeded_plan)

    preview = preview_of(seeded_plan, data)
    assert [(e.code, e.changes) for e in preview.entries if e.is_changed] == []

    table_import.apply(preview, user=coordinator)
    assert snapshot(seeded_plan) == before


def test_partners_text_without_links_reads_back_as_no_change(existing_action, coordinator):
    Action.objects.filter(pk=existing_action.pk).update(partners_text="Tous les membres")
    before = snapshot(existing_action.plan)

    preview = import_file(existing_action.plan, exported(existing_action.plan), coordinator)

    assert preview.new_organisations == []
    assert snapshot(existing_action.plan) == before


# --------------------------------------------------------------------------- a Word table


def assert_word_table_imported(plan, user, csdl):
    objective = plan.objectives.get()
    assert (objective.number, objective.title) == (1, OBJECTIVE_TITLE)
    sub = SubObjective.objects.get(objective=objective)
    assert (sub.number, sub.title) == (1, SUB_TITLE)
    action = plan.actions.get()
    assert (action.sub_objective, action.code, action.title) == (sub, "1.1.1", ACTION_TITLE)
    assert action.means == MEANS
    assert action.status == Action.Status.PLANNED
    assert action.completion is None
    assert list(action.periods.values_list("label", flat=True)) == ["2016-2018"]
    assert list(action.targets.values_list("description", flat=True)) == TARGETS
    laval = Organisation.objects.get(name="Ville de Laval")
    links = list(action.partner_links.order_by("order"))
    assert [(link.organisation, link.label_in_source) for link in links] == [
        (csdl, "CSDL"),
        (laval, "Ville de Laval"),
    ]
    assert action.partners_text == "CSDL\nVille de Laval"
    assert not action.carrier_to_be_found
    created = [objective, sub, action, laval, *action.targets.all(), *links]
    for obj in created:
        assert {record.history_user for record in obj.history.all()} == {user}, obj
    return action


def test_word_table_without_code_column_previews_what_it_creates(laval_plan, csdl):
    preview = preview_of(laval_plan, xlsx(WORD_HEADERS, WORD_ROWS))

    assert preview.counts() == {
        "objective": {"new": 1, "changed": 0, "unchanged": 0},
        "sub_objective": {"new": 1, "changed": 0, "unchanged": 0},
        "action": {"new": 1, "changed": 0, "unchanged": 0},
    }
    assert preview.new_organisations == ["Ville de Laval"]
    objective, sub, action = preview.entries
    assert (objective.row, objective.code, objective.title) == (4, "1", OBJECTIVE_TITLE)
    assert (sub.row, sub.code, sub.title) == (5, "1.1", SUB_TITLE)
    assert (action.row, action.code, action.title) == (6, "1.1.1", ACTION_TITLE)
    assert action.targets == TARGETS
    assert [p.label for p in action.periods] == ["2016-2018"]
    assert [(p.name, p.organisation) for p in action.partners] == [
        ("CSDL", csdl),
        ("Ville de Laval", None),
    ]


def test_word_table_without_code_column_creates_the_plan(laval_plan, csdl, coordinator):
    import_file(laval_plan, xlsx(WORD_HEADERS, WORD_ROWS), coordinator)

    assert_word_table_imported(laval_plan, coordinator, csdl)
    assert not ProgressNote.objects.exists()  # a new planned action has no trail yet


def test_semicolon_windows_1252_csv_imports_like_the_workbook(laval_plan, csdl, coordinator):
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow([TITLE, *[""] * 5])  # Excel pads every row to the table's width
    writer.writerow([""] * 6)
    writer.writerow(WORD_HEADERS)
    for row in WORD_ROWS:
        writer.writerow(row + [""] * (6 - len(row)))
    data = text.getvalue().encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    preview = import_file(laval_plan, data, coordinator, filename="plan.csv")

    assert preview.new_organisations == ["Ville de Laval"]
    assert_word_table_imported(laval_plan, coordinator, csdl)


# --------------------------------------------------------------------------- updating


def test_changes_are_shown_with_before_and_after(existing_action):
    row = [
        "1.1.1",
        "S'arrimer aux marchés publics et aux marchés de Noël",
        "Tenir un kiosque avec les jardins collectifs.",
        "X",
        "X",
        "Reportée",
        40,
        "Le marché a fermé pour la saison.",
    ]
    preview = preview_of(existing_action.plan, xlsx(CODE_HEADERS, code_rows(row)))

    objective, sub, action = preview.entries
    assert not objective.is_changed and not sub.is_changed
    assert action.existing == existing_action
    assert changes(action) == {
        "Titre": (ACTION_TITLE, "S'arrimer aux marchés publics et aux marchés de Noël"),
        "Moyens": (MEANS, "Tenir un kiosque avec les jardins collectifs."),
        "Statut": ("À venir", "Reportée"),
        "Avancement (%)": ("—", "40"),
        "Périodes prévues": ("2016-2018", "2016-2018, 2018-2019"),
    }
    assert preview.counts()["action"] == {"new": 0, "changed": 1, "unchanged": 0}


def test_update_writes_the_changes_and_the_status_reason(existing_action, coordinator):
    row = ["1.1.1", "Nouveau titre", "Nouveaux moyens", "X", "X", "Reportée", 40, "Fermé."]
    import_file(existing_action.plan, xlsx(CODE_HEADERS, code_rows(row)), coordinator)

    action = Action.objects.get(pk=existing_action.pk)
    assert (action.title, action.means) == ("Nouveau titre", "Nouveaux moyens")
    assert (action.status, action.completion) == (Action.Status.POSTPONED, 40)
    assert sorted(action.periods.values_list("label", flat=True)) == ["2016-2018", "2018-2019"]
    note = ProgressNote.objects.get(action=action)
    assert note.kind == ProgressNote.Kind.STATUS_CHANGE
    assert (note.status_from, note.status_to) == (Action.Status.PLANNED, Action.Status.POSTPONED)
    assert (note.reason, note.author) == ("Fermé.", coordinator)
    assert action.history.first().history_user == coordinator
    assert Objective.history.count() == 1  # the unchanged objective was not saved again


def test_empty_cell_never_erases_the_means(existing_action, coordinator):
    row = ["1.1.1", "Nouveau titre", "", "X", "", "", "", ""]
    preview = import_file(existing_action.plan, xlsx(CODE_HEADERS, code_rows(row)), coordinator)

    assert changes(preview.entries[-1]) == {"Titre": (ACTION_TITLE, "Nouveau titre")}
    action = Action.objects.get(pk=existing_action.pk)
    assert (action.title, action.means) == ("Nouveau titre", MEANS)


def test_line_breaks_saved_back_by_a_spreadsheet_are_no_change(existing_action, coordinator):
    """A line break typed in a browser is stored "\r\n"; a spreadsheet program saves the
    workbook back with "\n": the means are the same, and stay as they were typed."""
    typed = "Rencontrer les producteurs.\r\nPuis les transformateurs."
    Action.objects.filter(pk=existing_action.pk).update(means=typed)
    row = ["1.1.1", ACTION_TITLE, typed.replace("\r\n", "\n"), "X", "", "", "", ""]

    preview = import_file(existing_action.plan, xlsx(CODE_HEADERS, code_rows(row)), coordinator)

    assert preview.entries[-1].changes == []
    assert Action.objects.get(pk=existing_action.pk).means == typed


def test_postponing_without_a_reason_is_refused_at_the_preview(existing_action):
    row = ["1.1.1", "Nouveau titre", "", "X", "", "Reportée", "", ""]
    before = snapshot(existing_action.plan)

    with pytest.raises(TableError) as error:
        preview_of(existing_action.plan, xlsx(CODE_HEADERS, code_rows(row)))

    message = only_message(error.value.messages)
    assert message.startswith("Ligne 6, colonne « Statut » (F) : ")
    assert "Indiquez la raison" in message
    assert snapshot(existing_action.plan) == before


def test_empty_partners_cell_keeps_carrier_to_be_found(existing_action, coordinator):
    Action.objects.filter(pk=existing_action.pk).update(carrier_to_be_found=True)
    headers = ["Code", "Action", "Porteurs et partenaires"]
    rows = [["1", OBJECTIVE_TITLE], ["1.1", SUB_TITLE], ["1.1.1", ACTION_TITLE, ""]]
    preview = import_file(existing_action.plan, xlsx(headers, rows), coordinator)

    assert preview.entries[-1].changes == []
    assert Action.objects.get(pk=existing_action.pk).carrier_to_be_found


# --------------------------------------------------------------------------- partner colours


def rich_partners():
    return CellRichText(
        [
            TextBlock(InlineFont(rFont="Calibri", color="FF0000"), "CSDL"),
            "\n",
            TextBlock(InlineFont(rFont="Calibri", b=True), "Ville de Laval"),
        ]
    )


def test_word_red_run_reads_as_potential_and_bold_as_carrier(laval_plan, csdl, coordinator):
    rows = [*WORD_ROWS[:2], [f"1.1.1 {ACTION_TITLE}", "", "", rich_partners(), "X", ""]]
    preview = import_file(laval_plan, xlsx(WORD_HEADERS, rows), coordinator)

    assert [(p.name, p.confirmation, p.carrier) for p in preview.entries[-1].partners] == [
        ("CSDL", ActionPartner.Confirmation.POTENTIAL, False),
        ("Ville de Laval", None, True),
    ]
    links = ActionPartner.objects.order_by("order")
    assert [(link.label_in_source, link.confirmation, link.role) for link in links] == [
        ("CSDL", ActionPartner.Confirmation.POTENTIAL, ActionPartner.Role.NOT_SPECIFIED),
        ("Ville de Laval", ActionPartner.Confirmation.NOT_SPECIFIED, ActionPartner.Role.CARRIER),
    ]


def test_recoloured_existing_link_is_shown_and_written(existing_action, csdl, coordinator):
    link = ActionPartnerFactory(action=existing_action, organisation=csdl, label_in_source="CSDL")
    blue_bold = CellRichText([TextBlock(InlineFont(color="FF0070C0", b=True), "CSDL")])
    headers = ["Code", "Action", "Porteurs et partenaires"]
    rows = [["1", OBJECTIVE_TITLE], ["1.1", SUB_TITLE], ["1.1.1", ACTION_TITLE, blue_bold]]
    preview = import_file(existing_action.plan, xlsx(headers, rows), coordinator)

    (part,) = preview.entries[-1].changed_partners
    assert {str(label): (str(b), str(a)) for label, b, a in part.changes} == {
        "Confirmation": ("Non précisé", "Collaborateur confirmé"),
        "Rôle": ("Non précisé", "Porteur"),
    }
    link.refresh_from_db()
    assert link.confirmation == ActionPartner.Confirmation.CONFIRMED_COLLABORATOR
    assert link.role == ActionPartner.Role.CARRIER
    assert link.history.first().history_user == coordinator


def test_uniformly_coloured_partners_cell_keeps_its_legend(laval_plan, csdl, coordinator):
    red_bold = ("CSDL", {"font": Font(color="FFFF0000", bold=True)})
    rows = [*WORD_ROWS[:2], [f"1.1.1 {ACTION_TITLE}", "", "", red_bold, "X", ""]]
    import_file(laval_plan, xlsx(WORD_HEADERS, rows), coordinator)

    link = ActionPartner.objects.get()
    assert link.confirmation == ActionPartner.Confirmation.POTENTIAL
    assert link.role == ActionPartner.Role.CARRIER


def test_completion_typed_as_a_percentage_in_excel(existing_action, coordinator):
    typed = (0.4, {"number_format": "0%"})  # what Excel keeps of "40 %"
    row = ["1.1.1", ACTION_TITLE, "", "X", "", "En cours", typed, ""]
    import_file(existing_action.plan, xlsx(CODE_HEADERS, code_rows(row)), coordinator)

    assert Action.objects.get(pk=existing_action.pk).completion == 40


# --------------------------------------------------------------------------- bad files


def valid_workbook():
    return xlsx(WORD_HEADERS, WORD_ROWS)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
OLD_XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "Workbook".encode("utf-16-le")


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (PNG, "logo.png", "« logo.png » n'est pas un tableur"),
        (PNG, "plan.xlsx", "« plan.xlsx » n'est pas un tableur"),
        (PDF, "plan.pdf", "« plan.pdf » n'est pas un tableur"),
        (b"", "plan.xlsx", "Le fichier est vide."),
        (OLD_XLS, "plan.xls", "ancien format Excel (.xls)"),
    ],
    ids=["png", "png-named-xlsx", "pdf", "empty", "old-xls"],
)
def test_file_that_is_not_a_readable_spreadsheet_is_refused(laval_plan, data, filename, expected):
    assert expected in only_message(refuse(laval_plan, data, filename))


def test_truncated_workbook_is_refused_as_damaged(laval_plan):
    data = valid_workbook()
    message = only_message(refuse(laval_plan, data[: len(data) // 2]))
    assert "endommagé" in message


def test_password_protected_workbook_is_refused_with_the_way_out(laval_plan):
    encrypted = io.BytesIO()
    OOXMLFile(io.BytesIO(valid_workbook())).encrypt("secret", encrypted)
    assert OOXMLFile(io.BytesIO(encrypted.getvalue())).is_encrypted()

    message = only_message(refuse(laval_plan, encrypted.getvalue()))
    assert "protégé par un mot de passe" in message
    assert "retirez le mot de passe" in message


def test_file_over_the_size_limit_is_refused(laval_plan, settings):
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    data = valid_workbook() + bytes(1024 * 1024)

    message = only_message(refuse(laval_plan, data))
    assert "la limite est de 1 Mo" in message


def test_sheet_without_header_row_is_refused(laval_plan):
    data = xlsx(["Pommes", "Poires"], [["3", "4"]], title="Liste d'épicerie")
    message = only_message(refuse(laval_plan, data))
    assert "Aucune ligne d'en-têtes trouvée dans les 15 premières lignes" in message
    assert "Action" in message


def test_unmapped_action_column_is_refused(laval_plan):
    data = valid_workbook()
    table_file = table_import.read(data, "plan.xlsx")
    mapping = table_import.guess_mapping(table_file.headers, list(laval_plan.periods.all()))
    mapping[0] = IGNORE  # the coordinator set "Actions" aside

    message = only_message(refuse(laval_plan, data, mapping=mapping))
    assert message.startswith("Colonne manquante : Action.")


def test_unknown_column_is_named_with_its_letter(laval_plan):
    data = xlsx([*WORD_HEADERS, "Budget"], WORD_ROWS)
    message = only_message(refuse(laval_plan, data))
    assert message.startswith("Colonne inconnue : « Budget » (G).")


def test_period_column_not_in_the_plan_lists_the_plans_periods(laval_plan):
    data = xlsx([*WORD_HEADERS, "2020-2021"], WORD_ROWS)
    message = only_message(refuse(laval_plan, data))
    assert "La colonne « 2020-2021 » (G) ressemble à une période" in message
    assert "Périodes du plan : 2016-2018, 2018-2019." in message


def test_mapping_errors_are_reported_together(laval_plan):
    data = xlsx([*WORD_HEADERS, "Budget", "2020-2021"], WORD_ROWS)
    unknown, period = refuse(laval_plan, data)
    assert unknown.startswith("Colonne inconnue : « Budget » (G).")
    assert period.startswith("La colonne « 2020-2021 » (H) ressemble à une période")


ACTION = ["1.1.1", ACTION_TITLE, MEANS, "X", "", "", "", ""]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            code_rows(ACTION, ["1.1.1", "Une autre action", "", "", "", "", "", ""]),
            "Ligne 7 : le code 1.1.1 est déjà à la ligne 6.",
        ),
        (
            code_rows(["1.a.2", ACTION_TITLE]),
            "Ligne 6 : le code « 1.a.2 » est mal formé : écrivez par exemple 1, 1.2 ou 1.2.3.",
        ),
        (
            code_rows(["1.2.1", ACTION_TITLE]),
            "Ligne 6 : le sous-objectif 1.2 de l'action 1.2.1 n'existe ni dans le fichier ni "
            "dans le plan.",
        ),
        (
            code_rows(["1.1.1", ACTION_TITLE, "", "", "", "Fini", "", ""]),
            "Ligne 6, colonne « Statut » (F) : le statut « Fini » n'existe pas. Statuts "
            "permis : À venir, En cours, Réalisée, Reportée, Abandonnée.",
        ),
        (
            code_rows(["1.1.1", ACTION_TITLE, "", "", "", "", 150, ""]),
            "Ligne 6, colonne « Avancement (%) » (G) : « 150 » n'est pas un avancement : "
            "écrivez un nombre de 0 à 100.",
        ),
        (
            code_rows(["", "Organiser une fête de quartier", "Avec les voisins."]),
            "Ligne 6 : pas de code.",
        ),
    ],
    ids=[
        "duplicate-code",
        "malformed-code",
        "orphan-action",
        "unknown-status",
        "over-100",
        "no-code",
    ],
)
def test_bad_row_says_where_and_what(laval_plan, rows, expected):
    message = only_message(refuse(laval_plan, xlsx(CODE_HEADERS, rows)))
    assert message.startswith(expected)


def test_every_bad_row_is_reported_at_once(laval_plan):
    rows = code_rows(
        ACTION,
        ["1.1.1", "Doublon", "", "", "", "", "", ""],
        ["1.1.2", "Statut inconnu", "", "", "", "Fini", 150, ""],
        ["", "Sans code"],
        ["1.a.2", "Mal formé"],
    )
    messages = refuse(laval_plan, xlsx(CODE_HEADERS, rows))
    assert [m.split(" :")[0] for m in messages] == [
        "Ligne 7",
        "Ligne 8, colonne « Statut » (F)",
        "Ligne 8, colonne « Avancement (%) » (G)",
        "Ligne 9",
        "Ligne 10",
    ]


def test_failure_at_write_time_leaves_the_database_untouched(laval_plan, csdl, coordinator):
    too_long = "1.1.2 " + "Une action au titre interminable " * 20
    rows = [*WORD_ROWS, [too_long, "", "", "Ville de Laval", "X", ""]]
    preview = preview_of(laval_plan, xlsx(WORD_HEADERS, rows))
    assert len(preview.of_kind("action")) == 2
    before = written()

    with pytest.raises(TableError) as error:
        table_import.apply(preview, user=coordinator)

    assert only_message(error.value.messages).startswith("Ligne 7 (1.1.2) : ")
    assert written() == before
    assert not laval_plan.actions.exists()
    assert not Organisation.objects.filter(name="Ville de Laval").exists()
