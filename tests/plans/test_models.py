"""Plan structure rules: dates that make sense, numbers that identify, groups that grant."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction

from plans.groups import COORDINATION, MEMBERS
from plans.models import (
    Assembly,
    Coalition,
    Membership,
    Objective,
    Period,
    Plan,
    Review,
    ReviewFunding,
    ReviewItem,
    ReviewMeeting,
    ReviewStaff,
)
from tests.factories import (
    CoalitionFactory,
    ObjectiveFactory,
    PeriodFactory,
    PlanFactory,
    SubObjectiveFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

START = datetime.date(2018, 4, 1)
# An end equal to the start is refused as firmly as an end before it.
BAD_ENDS = [
    pytest.param(START - datetime.timedelta(days=1), id="end-before-start"),
    pytest.param(START, id="end-equals-start"),
]


@pytest.fixture
def plan():
    return PlanFactory(slug="casal-2016-2020", title="Plan d'action opérationnel du CASAL")


@pytest.fixture
def review(plan):
    return Review.objects.create(
        plan=plan,
        title="Retour sur l'an 1",
        start=datetime.date(2017, 8, 1),
        end=datetime.date(2018, 5, 31),
    )


def error_messages(excinfo):
    """Every message of a ValidationError, whatever field it is attached to."""
    return [message for messages in excinfo.value.message_dict.values() for message in messages]


# --- End after start -------------------------------------------------------------------------


@pytest.mark.parametrize("end", BAD_ENDS)
def test_plan_ending_before_it_starts_is_refused_by_validation(end):
    plan = Plan(
        coalition=CoalitionFactory(),
        title="Plan",
        slug="plan",
        kind=Plan.Kind.OPERATIONAL,
        start=START,
        end=end,
    )

    with pytest.raises(ValidationError) as excinfo:
        plan.full_clean()

    assert excinfo.value.message_dict[NON_FIELD_ERRORS] == [
        "La fin du plan doit être après son début."
    ]


@pytest.mark.parametrize("end", BAD_ENDS)
def test_plan_ending_before_it_starts_is_refused_by_the_database(end):
    coalition = CoalitionFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        PlanFactory(coalition=coalition, start=START, end=end)

    assert not Plan.objects.exists()


@pytest.mark.parametrize("end", BAD_ENDS)
def test_period_ending_before_it_starts_is_refused_by_validation(plan, end):
    period = Period(plan=plan, label="2018-2019", start=START, end=end)

    with pytest.raises(ValidationError) as excinfo:
        period.full_clean()

    assert excinfo.value.message_dict[NON_FIELD_ERRORS] == [
        "La fin de la période doit être après son début."
    ]


@pytest.mark.parametrize("end", BAD_ENDS)
def test_period_ending_before_it_starts_is_refused_by_the_database(plan, end):
    with pytest.raises(IntegrityError), transaction.atomic():
        Period.objects.create(plan=plan, label="2018-2019", start=START, end=end)

    assert not plan.periods.exists()


@pytest.mark.parametrize("end", BAD_ENDS)
def test_review_ending_before_it_starts_is_refused_by_validation(plan, end):
    review = Review(plan=plan, title="Bilan", start=START, end=end)

    with pytest.raises(ValidationError) as excinfo:
        review.full_clean()

    assert excinfo.value.message_dict[NON_FIELD_ERRORS] == [
        "La fin du bilan doit être après son début."
    ]


@pytest.mark.parametrize("end", BAD_ENDS)
def test_review_ending_before_it_starts_is_refused_by_the_database(plan, end):
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(plan=plan, title="Bilan", start=START, end=end)

    assert not plan.reviews.exists()


def test_dates_in_order_are_accepted(plan):
    period = Period(plan=plan, label="2018-2019", start=START, end=datetime.date(2019, 3, 31))
    review = Review(plan=plan, title="Bilan", start=START, end=START + datetime.timedelta(days=1))

    period.full_clean()
    review.full_clean()
    period.save()
    review.save()

    assert plan.periods.get() == period
    assert plan.reviews.get() == review


# --- Numbers and labels that identify --------------------------------------------------------


def test_objective_number_is_unique_within_a_plan(plan):
    ObjectiveFactory(plan=plan, number=1)
    duplicate = Objective(plan=plan, number=1, title="Un autre objectif 1")

    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()
    assert error_messages(excinfo) == ["Ce plan a déjà un objectif avec ce numéro."]

    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    assert plan.objectives.count() == 1


def test_same_objective_number_in_another_plan_is_fine(plan):
    ObjectiveFactory(plan=plan, number=1)
    other_plan = PlanFactory()
    objective = Objective(plan=other_plan, number=1, title="Objectif 1 de l'autre plan")

    objective.full_clean()
    objective.save()

    assert other_plan.objectives.get().number == 1


def test_period_label_is_unique_within_a_plan(plan):
    PeriodFactory(plan=plan, label="2016-2018")
    duplicate = Period(
        plan=plan, label="2016-2018", start=START, end=START + datetime.timedelta(days=365)
    )

    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()

    assert error_messages(excinfo) == ["Ce plan a déjà une période avec ce libellé."]


# --- Period.has_ended / is_current -----------------------------------------------------------


@pytest.fixture
def period_2018_2019(plan):
    return PeriodFactory(
        plan=plan,
        label="2018-2019",
        start=datetime.date(2018, 4, 1),
        end=datetime.date(2019, 3, 31),
    )


@pytest.mark.parametrize(
    ("today", "has_ended", "is_current"),
    [
        pytest.param(datetime.date(2018, 3, 31), False, False, id="day-before-start"),
        pytest.param(datetime.date(2018, 4, 1), False, True, id="first-day"),
        pytest.param(datetime.date(2018, 11, 15), False, True, id="middle"),
        pytest.param(datetime.date(2019, 3, 31), False, True, id="last-day"),
        pytest.param(datetime.date(2019, 4, 1), True, False, id="day-after-end"),
    ],
)
def test_period_has_ended_and_is_current(period_2018_2019, today, has_ended, is_current):
    assert period_2018_2019.has_ended(today=today) is has_ended
    assert period_2018_2019.is_current(today=today) is is_current


# --- Review funding --------------------------------------------------------------------------


def test_negative_funding_amount_is_refused_by_validation(review):
    funding = ReviewFunding(review=review, funder="PIC (Centraide)", amount=Decimal("-1.00"))

    with pytest.raises(ValidationError) as excinfo:
        funding.full_clean()

    assert error_messages(excinfo) == ["Un montant ne peut pas être négatif."]


def test_negative_funding_amount_is_refused_by_the_database(review):
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewFunding.objects.create(review=review, funder="PIC", amount=Decimal("-81626.00"))

    assert not review.funding.exists()


def test_zero_funding_amount_is_accepted(review):
    funding = ReviewFunding(review=review, funder="QeF/TCJL", amount=Decimal("0"))

    funding.full_clean()
    funding.save()

    assert review.funding.get().amount == 0


# --- What the admin lists show ---------------------------------------------------------------


def test_coalition_shows_its_short_name_or_else_its_name():
    assert str(Coalition(name="Concert'Action Lachine", short_name="CAL")) == "CAL"
    assert str(Coalition(name="Concert'Action Lachine")) == "Concert'Action Lachine"


def test_plan_period_theme_and_review_show_their_title_label_or_name(plan, review):
    period = PeriodFactory(plan=plan, label="2016-2018")
    theme = ThemeFactory(name="Accessibilité")

    assert str(plan) == "Plan d'action opérationnel du CASAL"
    assert str(period) == "2016-2018"
    assert str(theme) == "Accessibilité"
    assert str(review) == "Retour sur l'an 1"


def test_objective_and_sub_objective_show_their_code_and_title(plan):
    objective = ObjectiveFactory(plan=plan, number=2, title="Favoriser l'accès")
    sub_objective = SubObjectiveFactory(
        objective=objective, number=10, title="Soutenir les points de service"
    )

    assert str(objective) == "2 Favoriser l'accès"
    assert str(sub_objective) == "2.10 Soutenir les points de service"


def test_assembly_shows_its_title_or_else_coalition_and_date():
    coalition = CoalitionFactory(short_name="CASAL")
    untitled = Assembly.objects.create(coalition=coalition, date=datetime.date(2018, 6, 12))
    titled = Assembly(coalition=coalition, date=datetime.date(2019, 6, 11), title="AGA 2019")

    assert str(untitled) == "CASAL – 2018-06-12"
    assert str(titled) == "AGA 2019"


def test_review_lines_show_what_they_count(review):
    meeting = ReviewMeeting(review=review, body="rencontres du comité de coordination", count=12)
    staff = ReviewStaff(review=review, role="consultant", count=1, duration="10 mois et plus")
    funding = ReviewFunding(review=review, funder="PIC", amount=Decimal("81626.00"))
    item = ReviewItem(review=review, kind=ReviewItem.Kind.RESULT, text="Un plan de communication")

    assert str(meeting) == "12 × rencontres du comité de coordination"
    assert str(staff) == "1 consultant"
    assert str(funding).startswith("PIC : ")
    assert str(funding).endswith(" $")
    assert str(item) == "Un plan de communication"


# --- The two groups --------------------------------------------------------------------------

PLAN_DATA_MODELS = [
    "actions.action",
    "actions.target",
    "actions.targetvalue",
    "actions.progressnote",
    "partners.actionpartner",
    "partners.organisation",
    "plans.plan",
    "plans.period",
    "plans.objective",
    "plans.subobjective",
    "plans.theme",
    "plans.coalition",
    "plans.assembly",
    "plans.review",
    "plans.reviewfunding",
]


def perm(model_label, action):
    app_label, model_name = model_label.split(".")
    return f"{app_label}.{action}_{model_name}"


def test_both_groups_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {COORDINATION, MEMBERS}


@pytest.mark.parametrize("model_label", PLAN_DATA_MODELS)
def test_coordination_can_add_change_delete_and_view_plan_data(coordinator, model_label):
    for action in ("add", "change", "delete", "view"):
        assert coordinator.has_perm(perm(model_label, action)), perm(model_label, action)


@pytest.mark.parametrize("model_label", PLAN_DATA_MODELS)
def test_members_can_only_view_plan_data(member, model_label):
    assert member.has_perm(perm(model_label, "view"))
    for action in ("add", "change", "delete"):
        assert not member.has_perm(perm(model_label, action)), perm(model_label, action)


def test_neither_group_can_manage_user_accounts(coordinator, member):
    for user in (coordinator, member):
        assert not user.has_perm("auth.add_user")
        assert not user.has_perm("auth.change_user")
        assert not user.has_perm("auth.change_group")


def test_a_user_in_no_group_cannot_even_view_plan_data(outsider):
    assert not outsider.has_perm("actions.view_action")
    assert not outsider.has_perm("plans.view_plan")


# --- Membership ------------------------------------------------------------------------------


def test_a_person_sits_once_at_a_coalition(plan, django_user_model):
    user = django_user_model.objects.create_user("alice")
    Membership.objects.create(coalition=plan.coalition, user=user)

    duplicate = Membership(coalition=plan.coalition, user=user)
    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()
    assert error_messages(excinfo) == ["Cette personne est déjà membre de cette coalition."]
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_a_person_may_sit_at_several_coalitions(plan, django_user_model):
    user = django_user_model.objects.create_user("alice")
    Membership.objects.create(coalition=plan.coalition, user=user)
    Membership.objects.create(coalition=CoalitionFactory(), user=user)

    assert user.memberships.count() == 2
