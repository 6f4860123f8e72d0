"""Factories for bulk plan data. Each builds a consistent chain up to its coalition."""

import datetime

import factory

from actions.models import Action, ProgressNote, Target, TargetValue
from partners.models import ActionPartner, Organisation
from plans.models import Coalition, Objective, Period, Plan, SubObjective, Theme


class CoalitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coalition

    name = factory.Sequence(lambda n: f"Table de concertation {n}")
    short_name = factory.Sequence(lambda n: f"TC{n}")
    slug = factory.Sequence(lambda n: f"table-{n}")


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    coalition = factory.SubFactory(CoalitionFactory)
    title = factory.Sequence(lambda n: f"Plan d'action {n}")
    slug = factory.Sequence(lambda n: f"plan-{n}")
    kind = Plan.Kind.OPERATIONAL
    start = datetime.date(2016, 4, 1)
    end = datetime.date(2020, 3, 31)


class PeriodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Period

    plan = factory.SubFactory(PlanFactory)
    label = factory.Sequence(lambda n: f"Période {n}")
    start = datetime.date(2016, 4, 1)
    end = datetime.date(2018, 3, 31)


class ThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Theme

    code = factory.Sequence(lambda n: f"theme-{n}")
    name = factory.Sequence(lambda n: f"Thème {n}")


class ObjectiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Objective

    plan = factory.SubFactory(PlanFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Objectif {n}")


class SubObjectiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubObjective

    objective = factory.SubFactory(ObjectiveFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Sous-objectif {n}")


class ActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Action

    sub_objective = factory.SubFactory(SubObjectiveFactory)
    code = factory.LazyAttributeSequence(lambda a, n: f"{a.sub_objective.code}.{n + 1}")
    title = factory.Sequence(lambda n: f"Action {n}")
    means = "Moyens d'action."


class TargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Target

    action = factory.SubFactory(ActionFactory)
    description = factory.Sequence(lambda n: f"Cible {n}")


class TargetValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TargetValue

    target = factory.SubFactory(TargetFactory, kind=Target.Kind.COUNT)
    value = 1


class ProgressNoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProgressNote

    action = factory.SubFactory(ActionFactory)
    text = factory.Sequence(lambda n: f"Note de suivi {n}")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisme {n}")
    short_name = factory.Sequence(lambda n: f"ORG{n}")


class ActionPartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActionPartner

    action = factory.SubFactory(ActionFactory)
    organisation = factory.SubFactory(OrganisationFactory)


def build_plan(*, actions=10, periods=3, partners_per_action=2, coalition=None, **plan_fields):
    """A plan with periods, one objective, one sub-objective per 10 actions, and actions
    scheduled in periods, each with targets, partners and a note: enough to show N+1s."""
    plan = PlanFactory(**({"coalition": coalition} if coalition else {}), **plan_fields)
    plan_periods = [
        PeriodFactory(
            plan=plan,
            label=f"{2016 + i}-{2017 + i}",
            start=datetime.date(2016 + i, 4, 1),
            end=datetime.date(2017 + i, 3, 31),
        )
        for i in range(periods)
    ]
    objective = ObjectiveFactory(plan=plan, number=1)
    organisations = OrganisationFactory.create_batch(max(partners_per_action, 1) * 2)
    created = []
    for index in range(actions):
        sub_number = index // 10 + 1
        sub_objective, _created = SubObjective.objects.get_or_create(
            objective=objective,
            number=sub_number,
            defaults={"title": f"Sous-objectif {sub_number}"},
        )
        action = ActionFactory(
            sub_objective=sub_objective, code=f"1.{sub_number}.{index % 10 + 1}"
        )
        action.periods.set(plan_periods[index % periods : index % periods + 1])
        TargetFactory(action=action)
        ProgressNoteFactory(action=action)
        for offset in range(partners_per_action):
            ActionPartnerFactory(
                action=action, organisation=organisations[(index + offset) % len(organisations)]
            )
        created.append(action)
    return plan, created
