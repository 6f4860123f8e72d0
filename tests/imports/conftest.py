"""The plan the import tests' files are written for."""

import datetime

import pytest

from tests.factories import ObjectiveFactory, PeriodFactory, PlanFactory, SubObjectiveFactory


@pytest.fixture
def plan(db):
    """casal-essai: periods 2016-2018 and 2018-2019, sub-objectives 1.1, 1.2 and 2.1."""
    plan = PlanFactory(slug="casal-essai")
    PeriodFactory(
        plan=plan,
        label="2016-2018",
        start=datetime.date(2016, 4, 1),
        end=datetime.date(2018, 3, 31),
    )
    PeriodFactory(
        plan=plan,
        label="2018-2019",
        start=datetime.date(2018, 4, 1),
        end=datetime.date(2019, 3, 31),
    )
    objective_1 = ObjectiveFactory(plan=plan, number=1)
    SubObjectiveFactory(objective=objective_1, number=1)
    SubObjectiveFactory(objective=objective_1, number=2)
    SubObjectiveFactory(objective=ObjectiveFactory(plan=plan, number=2), number=1)
    return plan
