"""The CASAL 2016-2020 fixture says what its source document says.

Expected values are read at test time from the text extraction of the Word table
(fixtures/sources/casal_2016_2020.txt). The only values written here are the judgement
calls the document cannot settle by itself: how run-together cells split, and a few samples.
"""

import re
from dataclasses import dataclass
from datetime import date

import pytest
from django.core.management import call_command
from django.db import transaction

from actions.models import Action, Target
from partners.models import ActionPartner, Organisation
from plans.models import Assembly, Plan
from tests.plans.sources import FRENCH_MONTHS, ROOT, SOURCES

SOURCE = SOURCES / "casal_2016_2020.txt"
FIXTURE = ROOT / "fixtures" / "casal_2016_2020.json"

PLAN_SLUG = "casal-2016-2020"
SCHEDULE_COLUMNS = 3

ACTION_ROW = re.compile(r"^\d+\.\d+\.\d+ ")
SUB_OBJECTIVE = re.compile(r"^(\d+)\.(\d+) (.+)$")
OBJECTIVE = re.compile(r"^OBJECTIF (\d+) : (.+)$")
CROSS_CUTTING = re.compile(r"^OBJECTIFS? TRANSVERSA(?:UX|L) : (.+)$")
ACTION_CODE = re.compile(r"\b\d+\.\d+\.\d+\b")
HTML_TAG = re.compile(r"<[^>]+>")
# In the partners cell, a reference to another action is not an organisation.
LINK_IN_PARTNERS = re.compile(r"\(Lien avec \d+\.\d+\.\d+\)")
NO_CARRIER_YET = "?"


# --------------------------------------------------------------------------- document helpers


def document_lines():
    return SOURCE.read_text(encoding="utf-8").splitlines()


def normalise(text):
    """Drop HTML tags and collapse whitespace, so that layout differences do not count."""
    return " ".join(HTML_TAG.sub(" ", text).split())


def natural_key(code):
    return tuple(int(part) for part in code.split("."))


@dataclass(frozen=True)
class SourceAction:
    """One action row of the document, its cells normalised."""

    code: str
    title: str
    means: str
    targets: str
    partners: str
    schedule: tuple

    def scheduled_columns(self, labels):
        """The period labels whose cell starts with an X ("X Lien 1.2.3" is still an X)."""
        return {
            label for label, cell in zip(labels, self.schedule, strict=True) if cell[:1] == "X"
        }

    def referenced_codes(self):
        """Codes of other actions named in the means, partners or schedule cells."""
        text = " ".join([self.means, self.partners, *self.schedule])
        return set(ACTION_CODE.findall(text)) - {self.code}


def source_actions():
    actions = []
    for line in document_lines():
        if not ACTION_ROW.match(line):
            continue
        first, means, targets, partners, *schedule = line.split("\t")
        assert len(schedule) == SCHEDULE_COLUMNS, line
        code, title = first.split(" ", 1)
        actions.append(
            SourceAction(
                code=code,
                title=title.strip(),
                means=normalise(means),
                targets=normalise(targets),
                partners=normalise(partners),
                schedule=tuple(normalise(cell) for cell in schedule),
            )
        )
    return actions


def source_headings():
    """The first-column paragraphs of the rows that are not actions (objectives and so on)."""
    for line in document_lines():
        if "\t" not in line or ACTION_ROW.match(line):
            continue
        first_cell = line.split("\t")[0]
        for paragraph in re.split(r"</?p>", first_cell):
            if paragraph.strip():
                yield paragraph.strip()


def source_objectives():
    """{number: (title, cross-cutting objectives as one run-together string)}."""
    objectives = {}
    current = None
    for heading in source_headings():
        if match := OBJECTIVE.match(heading):
            current = int(match.group(1))
            objectives[current] = (match.group(2), "")
        elif match := CROSS_CUTTING.match(heading):
            objectives[current] = (objectives[current][0], match.group(1))
    return objectives


def source_sub_objectives():
    """{(objective number, sub-objective number): title}."""
    return {
        (int(match.group(1)), int(match.group(2))): match.group(3)
        for heading in source_headings()
        if (match := SUB_OBJECTIVE.match(heading))
    }


def source_period_labels():
    """The schedule column headings, e.g. '2016- 2018' read as '2016-2018'."""
    header = next(line for line in document_lines() if line.startswith("Orientations/objectifs"))
    return [cell.replace(" ", "") for cell in header.split("\t")[-SCHEDULE_COLUMNS:]]


def source_title():
    return next(line.strip() for line in document_lines() if line.startswith("Plan d'action"))


def source_adoption_date():
    """'Document adopté par les membres du CASAL le 1^{er} février 2017' -> date(2017, 2, 1)."""
    line = next(line for line in document_lines() if line.startswith("Document adopté"))
    day, month, year = re.search(r" le (\d+)(?:\^\{er\})? (\w+) (\d{4})", line).groups()
    return date(int(year), FRENCH_MONTHS[month], int(day))


def source_organisation_labels(action):
    """The partners cell without the '?' placeholder and the links to other actions."""
    text = LINK_IN_PARTNERS.sub("", action.partners)
    return normalise("" if text == NO_CARRIER_YET else text)


def expected_related_codes(code, actions):
    """Links are symmetrical: an action is related to what it names and to what names it."""
    by_code = {action.code: action for action in actions}
    named_by_others = {other.code for other in actions if code in other.referenced_codes()}
    return by_code[code].referenced_codes() | named_by_others


SOURCE_ACTIONS = source_actions()


# --------------------------------------------------------------------------- fixture helpers


@pytest.fixture(scope="module")
def loaded_fixture(django_db_setup, django_db_blocker):
    """Load the fixture once for this module, in a transaction rolled back at its end.

    Each test still runs in its own savepoint (the `db` fixture), so tests stay isolated.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("loaddata", FIXTURE, verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def plan(loaded_fixture, db):
    return Plan.objects.get(slug=PLAN_SLUG)


def action(plan, code):
    return plan.actions.get(code=code)


def target_descriptions(action):
    return list(action.targets.order_by("order").values_list("description", flat=True))


def partner_labels(action):
    return list(action.partner_links.order_by("order").values_list("label_in_source", flat=True))


def related_codes(action):
    return set(action.related_actions.values_list("code", flat=True))


def links_written(label):
    return ActionPartner.objects.filter(label_in_source=label)


# --------------------------------------------------------------------------- plan and structure


def test_document_has_the_expected_shape():
    assert len(source_objectives()) == 3
    assert len(source_sub_objectives()) == 14
    assert len(SOURCE_ACTIONS) == 35


def test_counts_match_the_document(plan):
    assert plan.objectives.count() == len(source_objectives()) == 3
    sub_objectives = [
        sub for objective in plan.objectives.all() for sub in objective.sub_objectives.all()
    ]
    assert len(sub_objectives) == len(source_sub_objectives()) == 14
    assert plan.actions.count() == len(SOURCE_ACTIONS) == 35


def test_plan_title_and_adoption_date(plan):
    assert plan.title == source_title()
    assert plan.adopted_on == source_adoption_date() == date(2017, 2, 1)
    assert plan.coalition.short_name == "CASAL"


def test_the_adoption_is_the_coalitions_assembly(plan):
    # "Since the last assembly" on the members' pages starts at the members' adoption vote.
    assembly = Assembly.objects.get(coalition=plan.coalition)
    assert assembly.date == plan.adopted_on == source_adoption_date()
    assert assembly.title == "Assemblée des membres du CASAL"


def test_periods_are_the_schedule_columns(plan):
    labels = list(plan.periods.order_by("start").values_list("label", flat=True))
    assert labels == source_period_labels()
    # The document gives only years: every guessed date must say so.
    assert plan.dates_note
    assert all(plan.periods.values_list("dates_note", flat=True))


def test_objectives_match_the_document(plan):
    for number, (title, cross_cutting) in source_objectives().items():
        objective = plan.objectives.get(number=number)
        assert objective.title == title
        lines = objective.cross_cutting_objectives.splitlines()
        # The extraction ran the cross-cutting objectives together: rejoined, they must match.
        assert " ".join(lines) == cross_cutting


def test_cross_cutting_objectives_are_one_per_line(plan):
    counts = {
        objective.number: len(objective.cross_cutting_objectives.splitlines())
        for objective in plan.objectives.all()
    }
    assert counts == {1: 2, 2: 1, 3: 0}


def test_sub_objectives_match_the_document(plan):
    for (objective_number, number), title in source_sub_objectives().items():
        sub_objective = plan.objectives.get(number=objective_number).sub_objectives.get(
            number=number
        )
        assert sub_objective.title == title


def test_codes_sort_naturally(plan):
    fixture_order = list(plan.actions.values_list("code", flat=True))  # default ordering
    document_codes = [source.code for source in SOURCE_ACTIONS]
    assert fixture_order == sorted(document_codes, key=natural_key) == document_codes


# --------------------------------------------------------------------------- every action


@pytest.mark.parametrize("source", SOURCE_ACTIONS, ids=lambda source: source.code)
def test_action_matches_its_row(plan, source):
    fixture_action = action(plan, source.code)
    assert fixture_action.title == source.title
    assert normalise(fixture_action.means) == source.means
    assert "<" not in fixture_action.means
    assert fixture_action.partners_text == source.partners
    periods = set(fixture_action.periods.values_list("label", flat=True))
    assert periods == source.scheduled_columns(source_period_labels())
    assert fixture_action.status == Action.Status.PLANNED
    assert fixture_action.completion is None


@pytest.mark.parametrize("source", SOURCE_ACTIONS, ids=lambda source: source.code)
def test_targets_rejoin_into_the_cell(plan, source):
    fixture_action = action(plan, source.code)
    assert " ".join(target_descriptions(fixture_action)) == source.targets
    for target in fixture_action.targets.all():
        is_count = target.description.startswith(("Nombre de ", "Nombre d'"))
        expected_kind = Target.Kind.COUNT if is_count else Target.Kind.DELIVERABLE
        assert target.kind == expected_kind, target.description
        assert bool(target.unit) == is_count, target.description
        assert target.target_value is None
        assert not target.is_done
        assert not target.values.exists()


@pytest.mark.parametrize("source", SOURCE_ACTIONS, ids=lambda source: source.code)
def test_partner_labels_rejoin_into_the_cell(plan, source):
    fixture_action = action(plan, source.code)
    assert " ".join(partner_labels(fixture_action)) == source_organisation_labels(source)
    assert fixture_action.carrier_to_be_found == (source.partners == NO_CARRIER_YET)


@pytest.mark.parametrize("source", SOURCE_ACTIONS, ids=lambda source: source.code)
def test_related_actions_follow_the_references(plan, source):
    fixture_action = action(plan, source.code)
    assert related_codes(fixture_action) == expected_related_codes(source.code, SOURCE_ACTIONS)


def test_rows_without_content_stay_empty(plan):
    for source in SOURCE_ACTIONS:
        if source.means or source.targets or source.partners:
            continue
        fixture_action = action(plan, source.code)
        assert fixture_action.means == fixture_action.partners_text == ""
        assert not fixture_action.targets.exists()
        assert not fixture_action.partner_links.exists()
    assert {s.code for s in SOURCE_ACTIONS if not s.scheduled_columns(source_period_labels())} == {
        "1.1.2",
        "2.1.2",
        "2.1.3",
        "3.5.3",
    }


# --------------------------------------------------------------------------- samples of judgement


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "1.2.3",
            [
                "État de situation",
                "Positionnement des partenaires au niveau des priorités",
                "Pistes de solutions",
            ],
        ),
        (
            "1.3.1",
            [
                "Matinée",
                "Création et utilisation d'une boîte à outils",
                "Promotion et déploiement de pratiques gagnantes et innovantes",
            ],
        ),
        ("3.2.1", ["Cartographie (portrait)", "Nombre de porteurs", "Mécanisme de suivi"]),
        (
            "2.1.1",
            ["Moment d'échange officiel (ex. : Matinée, bulletin, rencontres thématiques...)"],
        ),
        (
            "1.2.1",
            [
                "Nombre d'événements valorisants produits locaux",
                "Occasions d'échanges créées entre les instances",
            ],
        ),
    ],
)
def test_target_split_samples(plan, code, expected):
    assert target_descriptions(action(plan, code)) == expected


def test_every_target_is_one_phrase(plan):
    # The cells run targets together; each one starts with a capital letter, and a capital
    # outside parentheses inside a description would mean two targets were left merged.
    for target in Target.objects.filter(action__plan=plan):
        outside_parentheses = re.sub(r"\([^)]*\)", "", target.description)
        assert target.description[0].isupper(), target.description
        assert not re.search(r" [A-ZÀ-Ý]", outside_parentheses), target.description


def test_count_target_has_a_unit_and_no_value(plan):
    target = action(plan, "1.5.2").targets.get(description__startswith="Nombre")
    assert target.description == "Nombre de passerelles et collaborations créées"
    assert target.kind == Target.Kind.COUNT
    assert target.unit == "passerelles et collaborations"
    assert target.target_value is None
    assert not target.values.exists()


def test_deliverable_target_sample(plan):
    target = action(plan, "1.5.2").targets.get(description="Cartographie")
    assert target.kind == Target.Kind.DELIVERABLE
    assert not target.is_done


@pytest.mark.parametrize(
    ("first", "second"), [("1.2.1", "1.2.3"), ("1.2.4", "3.6.1"), ("3.2.1", "3.5.3")]
)
def test_related_action_samples(plan, first, second):
    assert second in related_codes(action(plan, first))
    assert first in related_codes(action(plan, second))


def test_cartography_reference_links_to_action_3_3_2(plan):
    # "(3.3.2)" in 1.5.2's means is the cartography of action 3.3.2; the text stays as written.
    assert "3.3.2" in related_codes(action(plan, "1.5.2"))
    assert "(3.3.2)" in action(plan, "1.5.2").means
    assert "(lien 3.6.1)" in action(plan, "1.2.4").means


# --------------------------------------------------------------------------- special partners


def test_tous_is_a_link_to_all_members(plan):
    links = links_written("Tous")
    expected = {s.code for s in SOURCE_ACTIONS if s.partners.split(" ")[0] == "Tous"}
    assert set(links.values_list("action__code", flat=True)) == expected
    organisation = Organisation.objects.get(short_name="Tous")
    assert organisation.kind == Organisation.Kind.ALL_MEMBERS
    assert organisation.coalition == plan.coalition
    assert set(links.values_list("organisation", flat=True)) == {organisation.pk}


def test_coordo_and_collab_coordo_link_to_the_coordination(plan):
    coordination = Organisation.objects.get(kind=Organisation.Kind.COORDINATION)
    assert coordination.coalition == plan.coalition
    coordo = links_written("Coordo.")
    collab = links_written("Collab. coordo.")
    assert set(coordo.values_list("action__code", flat=True)) == {
        s.code for s in SOURCE_ACTIONS if s.partners.endswith(" Coordo.")
    }
    assert set(collab.values_list("action__code", flat=True)) == {
        s.code for s in SOURCE_ACTIONS if "Collab. coordo." in s.partners
    }
    assert set(coordo.values_list("organisation", flat=True)) == {coordination.pk}
    assert set(collab.values_list("organisation", flat=True)) == {coordination.pk}
    assert set(collab.values_list("role", flat=True)) == {ActionPartner.Role.PARTNER}


def test_question_mark_means_carrier_to_be_found(plan):
    unknown = [s.code for s in SOURCE_ACTIONS if s.partners == NO_CARRIER_YET]
    assert unknown == ["1.2.2"]
    fixture_action = action(plan, "1.2.2")
    assert fixture_action.carrier_to_be_found
    assert fixture_action.partners_text == NO_CARRIER_YET
    assert not fixture_action.partner_links.exists()
    assert (
        list(plan.actions.filter(carrier_to_be_found=True).values_list("code", flat=True))
        == unknown
    )


def test_link_in_partners_cell_is_not_an_organisation(plan):
    fixture_action = action(plan, "3.2.1")
    assert fixture_action.partners_text.endswith("(Lien avec 3.5.3)")
    assert not Organisation.objects.filter(name__contains="Lien").exists()
    assert "3.5.3" in related_codes(fixture_action)


def test_no_confirmation_is_invented(plan):
    assert ActionPartner.objects.exists()
    assert not ActionPartner.objects.exclude(
        confirmation=ActionPartner.Confirmation.NOT_SPECIFIED
    ).exists()
    assert not ActionPartner.objects.exclude(last_contact=None).exists()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "1.1.1",
            ["Enfant d'Abord", "RUI", "CSDL", "Ville de Laval", "Centre horticole de Laval"],
        ),
        (
            "1.3.1",
            [
                "Comité organisateur matinées",
                "Nutritionnistes",
                "RUI Chomedey",
                "CSDL",
                "Groupe Promo-Santé Laval",
                "CBML",
                "Assoc. popotes roulantes",
                "Relais communautaire de Laval",
            ],
        ),
        (
            "3.3.2",
            [
                "CBML",
                "ACEF",
                "CSDL",
                "Chevaliers de Colomb",
                "Club optimiste",
                "Club Lions",
                "SSVP",
            ],
        ),
        ("3.2.1", ["Tous", "Collab. coordo."]),
    ],
)
def test_partner_split_samples(plan, code, expected):
    assert partner_labels(action(plan, code)) == expected


@pytest.mark.parametrize(
    ("label", "other_label"),
    [
        ("Ville", "Ville de Laval"),
        ("SSVP", "Société St-Vincent-de Paul"),
        ("RUI", "RUI Chomedey"),
        ("Nutritionniste", "Nutritionniste RLP"),
        ("Nutritionniste", "Nutritionnistes"),
    ],
)
def test_uncertain_names_stay_separate_with_a_note(plan, label, other_label):
    organisation = links_written(label).first().organisation
    other = links_written(other_label).first().organisation
    assert organisation != other
    assert f"« {other_label} »" in organisation.notes
    assert f"« {label} »" in other.notes


def test_spelling_variants_keep_their_original_label(plan):
    # "Au panier de Chomedey" (1.5.2) is the same organisation as "Au Panier de Chomedey".
    variant = action(plan, "1.5.2").partner_links.get(label_in_source="Au panier de Chomedey")
    usual = action(plan, "1.2.3").partner_links.get(label_in_source="Au Panier de Chomedey")
    assert variant.organisation_id == usual.organisation_id
