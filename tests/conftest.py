"""Named users make every permission boundary testable: the coordinator changes plan data,
the member reads it, the outsider has an account and no business here."""

import pytest
from django.contrib.auth.models import Group

from plans.groups import COORDINATION, MEMBERS

PASSWORD = "mot-de-passe-de-test"


def make_user(django_user_model, username, group=None, is_staff=True):
    user = django_user_model.objects.create_user(
        username=username, password=PASSWORD, is_staff=is_staff
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def coordinator(django_user_model):
    return make_user(django_user_model, "coordo", COORDINATION)


@pytest.fixture
def member(django_user_model):
    return make_user(django_user_model, "membre", MEMBERS)


@pytest.fixture
def outsider(django_user_model):
    return make_user(django_user_model, "passant", is_staff=False)


@pytest.fixture
def coordinator_client(client, coordinator):
    client.force_login(coordinator)
    return client


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client
