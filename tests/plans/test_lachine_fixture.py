"""The Lachine 2018-2021 fixture says what its source document says.

Every expected value is read at test time from the text extraction of the slide deck
(fixtures/sources/lachine_suivi_2018.txt), never copied from the fixture.
"""

import calendar
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from actions.models import Action
from partners.models import ActionPartner
from plans.models import Assembly, Plan, Review, ReviewItem, Theme
from tests.plans.sources import FRENCH_MONTHS, ROOT, SOURCES

SOURCE = SOURCES / "lachine_suivi_2018.txt"
FIXTURES = [ROOT / "fixtures" / "themes.json", ROOT / "fixtures" / "lachine_2018_2021.json"]

PLAN_SLUG = "lachine-2018-2021"
YEAR_2 = "An 2"


# --------------------------------------------------------------------------- document helpers


def document():
    return SOURCE.read_text(encoding="utf-8")


def plain(text):
    """Drop the markdown bold markers of the extraction."""
    return text.replace("**", "")


def between(text, start, end=None):
    """The text after the first `start` and before the next `end` (or the end of the text)."""
    begin = text.index(start) + len(start)
    if end is None:
        return text[begin:]
    return text[begin : text.index(end, begin)]


def bullets(text):
    """The '- ' lines of a piece of text, without the dash and the bold markers."""
    return [plain(line[2:].strip()) for line in text.splitlines() if line.startswith("- ")]


def year_1_review_text():
    return between(document(), "Retour sur l'an 1", "Les principes de base")


def year_2_text():
    return between(document(), "Ce qui est prévu pour l'an 2", "Prochaines étapes")


def key_line_slides():
    """Each 'Les grandes lignes' slide: (slide title, its bullets)."""
    pattern = r"^(Axes? .+)\n\nLes grandes lignes :\n\n((?:- .+\n?)+)"
    return [
        (match.group(1), bullets(match.group(2)))
        for match in re.finditer(pattern, document(), re.MULTILINE)
    ]


def is_examples_bullet(bullet):
    """The education slide's list of example organisations: a note, not an action."""
    return bullet.startswith("Exemples d'organismes")


def key_lines():
    """The key-line bullets that are actions, slide by slide: (axis, bullet)."""
    return [
        (title.removeprefix("Axes ").removeprefix("Axe "), bullet)
        for title, slide_bullets in key_line_slides()
        for bullet in slide_bullets
        if not is_examples_bullet(bullet)
    ]


def examples_bullet():
    every_bullet = [b for _title, slide_bullets in key_line_slides() for b in slide_bullets]
    return next(bullet for bullet in every_bullet if is_examples_bullet(bullet))


def assembly_line():
    """'Assemblée des membres de Concert'Action Lachine – 5 avril 2018' -> (title, date)."""
    line = next(line for line in document().splitlines() if line.startswith("Assemblée des"))
    title, when = line.split(" – ")
    day, month, year = when.split()
    return title, date(int(year), FRENCH_MONTHS[month], int(day))


def strategic_table_rows():
    """The tab-separated rows of the 'Plan stratégique 2018-2021' table, header excluded."""
    table = between(document(), "Problématique\t", "Axe ")
    return [line.split("\t") for line in table.splitlines()[1:] if "\t" in line]


def year_2_action_rows():
    """The year-2 actions table: (axis, [one action per line of the cell])."""
    rows = []
    for line in year_2_text().splitlines():
        if "\t" not in line:
            continue
        axis, cell = line.split("\t")
        # The extraction lost the cell's line breaks: each line starts with a capital letter.
        rows.append((axis, re.split(r" (?=[A-ZÀÉ])", cell.strip())))
    return rows


def parse_month_year(text):
    """'août 2017' -> (2017, 8)."""
    month, year = re.fullmatch(r"(\w+) (\d{4})", text).groups()
    return int(year), FRENCH_MONTHS[month]


def end_of_month(year, month):
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_amount(text):
    """'81 626 \\$' -> Decimal('81626')."""
    return Decimal(re.sub(r"[\s\\$]", "", text))


# --------------------------------------------------------------------------- fixture helpers


@pytest.fixture
def plan(db):
    call_command("loaddata", *FIXTURES, verbosity=0)
    return Plan.objects.get(slug=PLAN_SLUG)


@pytest.fixture
def review(plan):
    return plan.reviews.get()


def items(review, kind, heading=None):
    queryset = review.items.filter(kind=kind).order_by("order")
    if heading is not None:
        queryset = queryset.filter(heading=heading)
    return list(queryset.values_list("text", flat=True))


def objective_for_axis(plan, axis):
    """The field of intervention whose name starts with the axis' first word."""
    first_word = axis.split()[0]
    return plan.objectives.get(title__startswith=first_word)


# --------------------------------------------------------------------------- themes


def test_themes_are_the_five_components_in_document_order(plan):
    components = bullets(
        between(document(), "Les composantes de la sécurité alimentaire :", "Les principes")
    )
    assert len(components) == 5
    descriptions = list(Theme.objects.order_by("order").values_list("description", flat=True))
    assert descriptions == components


def test_no_action_is_tagged_with_a_theme(plan):
    assert not plan.actions.filter(themes__isnull=False).exists()


# --------------------------------------------------------------------------- plan


def test_coalition_and_assembly_match_the_title_slide(plan):
    title, when = assembly_line()
    assembly = Assembly.objects.get(coalition=plan.coalition)

    assert plan.coalition.name == title.removeprefix("Assemblée des membres de ")
    assert assembly.title == title
    assert assembly.date == when


def test_plan_title_years_and_start_of_year_2(plan):
    assert plan.title in document()
    first_year, last_year = map(int, re.search(r"(\d{4})-(\d{4})", plan.title).groups())
    start_text = between(year_2_text(), "Période\n\n", "\n")
    start_year, start_month = parse_month_year(start_text.removeprefix("À partir de "))

    assert plan.start == date(start_year, start_month, 1)
    assert plan.start.year == first_year
    assert plan.end.year == last_year
    assert plan.kind == Plan.Kind.STRATEGIC
    # The deck asks the assembly to discuss and adopt; it records no adoption.
    assert plan.adopted_on is None


def test_principles_hold_the_basis_strategies_and_sustainable_food_system(plan):
    text = document()
    basis = " ".join(
        between(
            text, "Les principes de base du plan stratégique 2018-2021\n\n", "\n\n"
        ).splitlines()
    )
    strategies = next(line for line in text.splitlines() if line.startswith("Les stratégies"))
    definition = between(text, "Qu'est-ce qu'un système alimentaire durable?\n\n", "\n\nPlan")
    paragraphs = [plain(basis), strategies, "Qu'est-ce qu'un système alimentaire durable?"]
    paragraphs += definition.split("\n\n")

    assert "**" not in plan.principles
    for paragraph in paragraphs:
        assert paragraph in plan.principles
    for component in Theme.objects.values_list("description", flat=True):
        assert f"- {component}" in plan.principles
    assert plan.principles.endswith("La Fédération canadienne des municipalités")


def test_problem_and_desired_change_are_the_table_cells(plan):
    first_row = strategic_table_rows()[0]
    assert plan.problem == first_row[0]
    assert plan.desired_change == first_row[3]


def test_fields_of_intervention_and_target_populations(plan):
    rows = [(row[1], row[2]) for row in strategic_table_rows()]
    assert len(rows) == 4
    objectives = list(
        plan.objectives.order_by("number").values_list("number", "title", "target_populations")
    )
    assert objectives == [(n, field, who) for n, (field, who) in enumerate(rows, start=1)]


def test_shared_field_has_no_actions_of_its_own(plan):
    shared = plan.objectives.get(title="Enjeux politiques")
    assert not shared.sub_objectives.exists()
    assert "champ 1" in shared.description


# --------------------------------------------------------------------------- actions


def test_key_lines_are_actions_with_the_bullet_as_means(plan):
    actions = plan.actions.filter(sub_objective__title__startswith="Grandes lignes")
    first_lines = [action.means.splitlines()[0] for action in actions]

    assert len(key_line_slides()) == 3
    assert sorted(first_lines) == sorted(bullet for _axis, bullet in key_lines())
    for action in actions:
        assert action.means.startswith(action.title)
        assert not action.periods.exists(), "the document does not say when"


def test_key_lines_sit_under_their_axis(plan):
    for axis, bullet in key_lines():
        action = plan.actions.get(means__startswith=bullet)
        assert action.sub_objective.objective == objective_for_axis(plan, axis)


def test_education_examples_are_partners_of_the_education_programme(plan):
    examples = examples_bullet()
    names = [name.strip() for name in examples.split(" : ")[1].split(",")]
    programme = plan.actions.get(means__contains=examples)
    links = programme.partner_links.order_by("order")

    assert programme.means.splitlines()[1] == examples
    assert "programme d'éducation" in programme.means.splitlines()[0]
    assert [link.label_in_source for link in links] == names
    assert [link.organisation.name for link in links] == names
    for link in links:
        assert link.role == ActionPartner.Role.PARTNER
        assert link.confirmation == ActionPartner.Confirmation.NOT_SPECIFIED
    assert ActionPartner.objects.filter(action__plan=plan).count() == len(names)


def test_year_2_actions_are_scheduled_in_year_2(plan):
    rows = year_2_action_rows()
    assert len(rows) == 3
    scheduled = plan.actions.filter(periods__label=YEAR_2)
    expected = [action for _axis, actions in rows for action in actions]

    assert sorted(scheduled.values_list("title", flat=True)) == sorted(expected)
    for axis, titles in rows:
        objective = objective_for_axis(plan, axis)
        for title in titles:
            action = scheduled.get(title=title)
            assert action.means == title
            assert action.sub_objective.objective == objective


def test_year_2_period_starts_when_the_document_says(plan):
    start_text = between(year_2_text(), "Période\n\n", "\n").removeprefix("À partir de ")
    year, month = parse_month_year(start_text)
    period = plan.periods.get(label=YEAR_2)
    assert period.start == date(year, month, 1)
    assert plan.periods.count() == 1


def test_every_action_comes_from_the_document(plan):
    year_2_count = sum(len(titles) for _axis, titles in year_2_action_rows())
    assert plan.actions.count() == len(key_lines()) + year_2_count
    for action in plan.actions.all():
        assert action.status == Action.Status.PLANNED
        assert action.completion is None
        assert action.code.startswith(f"{action.sub_objective.code}.")
        assert "**" not in action.means
        assert action.partners_text == ""


# --------------------------------------------------------------------------- year-1 review


def test_review_period_is_the_one_written(plan, review):
    lines = between(year_1_review_text(), "Période\n\n", "\n\n").splitlines()
    label = " ".join(lines)
    first, last = re.fullmatch(r"Du mois d'(.+) au mois de (.+) \(\d+ mois\)", label).groups()

    assert review.period_label == label
    assert review.start == date(*parse_month_year(first), 1)
    assert review.end == end_of_month(*parse_month_year(last))


def test_review_was_presented_at_the_assembly(plan, review):
    _title, when = assembly_line()
    assert review.presented_at.coalition == plan.coalition
    assert review.presented_at.date == when
    assert Review.objects.get(presented_at__date=when) == review


def test_review_meetings(review):
    written = [
        re.fullmatch(r"(\d+) (.+)", bullet).groups()
        for bullet in bullets(between(year_1_review_text(), "Rencontres", "Financement"))
    ]
    meetings = list(review.meetings.order_by("order"))

    assert len(meetings) == len(written) == 3
    for meeting, (count, body) in zip(meetings, written, strict=True):
        assert meeting.count == int(count)
        # The body may spell out an abbreviation in brackets after the document's words.
        assert meeting.body == body or meeting.body.startswith(f"{body} (")


def test_review_funding(review):
    block = between(year_1_review_text(), "Financement\n\n", "\n\n")
    written = [line.split(" : ") for line in block.splitlines()]
    funding = list(review.funding.order_by("order").values_list("funder", "amount"))

    assert funding == [(funder, parse_amount(amount)) for funder, amount in written]
    assert len(funding) == 2


def test_review_staff(review):
    written = [
        re.fullmatch(r"(\d+) (\w+) \((.+)\)", bullet).groups()
        for bullet in bullets(between(year_1_review_text(), "RH", "Résultats"))
    ]
    staff = list(review.staff.order_by("order").values_list("count", "role", "duration"))
    assert staff == [(int(count), role, duration) for count, role, duration in written]


def test_review_results(review):
    written = bullets(between(year_1_review_text(), "Résultats"))
    assert len(written) == 4
    assert items(review, ReviewItem.Kind.RESULT) == written


def test_planned_items_follow_the_year_2_slide(review):
    text = year_2_text()
    coordination = bullets(between(text, "Coordination", "Communications"))
    communications = between(text, "Communications\n\n", "\n\n\n").strip()
    actions_line = between(text, "Actions\n\n", "\n")

    assert items(review, ReviewItem.Kind.PLANNED, "Période") == [
        between(text, "Période\n\n", "\n")
    ]
    assert items(review, ReviewItem.Kind.PLANNED, "Financement") == [
        between(text, "Financement\n\n", "\n")
    ]
    assert items(review, ReviewItem.Kind.PLANNED, "Coordination") == coordination
    # One item keeps "2 niveaux :" and its two bullets together.
    assert items(review, ReviewItem.Kind.PLANNED, "Communications") == [
        communications.replace("\n\n", "\n")
    ]
    assert items(review, ReviewItem.Kind.PLANNED, "Actions") == [actions_line]


def test_next_steps(review):
    steps = between(document(), "Prochaines étapes", "Discussion et adoption")
    assert items(review, ReviewItem.Kind.NEXT_STEP, "Gestion") == bullets(
        between(steps, "GESTION", "FINALISATION")
    )
    assert items(review, ReviewItem.Kind.NEXT_STEP, "Finalisation de l'an 1") == bullets(
        between(steps, "FINALISATION DE L'AN 1 :")
    )
    assert review.items.filter(kind=ReviewItem.Kind.NEXT_STEP).count() == 7


def test_questions_to_the_assembly(review):
    questions = bullets(between(document(), "Discussion et adoption"))
    assert len(questions) == 3
    assert items(review, ReviewItem.Kind.QUESTION) == questions


def test_review_items_keep_document_order(review):
    kinds = list(review.items.order_by("order").values_list("kind", flat=True))
    order = [
        ReviewItem.Kind.RESULT,
        ReviewItem.Kind.PLANNED,
        ReviewItem.Kind.NEXT_STEP,
        ReviewItem.Kind.QUESTION,
    ]
    assert kinds == sorted(kinds, key=order.index)
