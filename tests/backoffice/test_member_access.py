"""Members stay on the dashboard: no "Administration" link and no back-office, unless a
coordinator lets them in; the coordinator has both. (The demo member is not staff either:
tests/test_project.py.)"""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ADMIN_LINK = f'href="{reverse("admin:index")}"'


def test_the_member_sees_no_link_and_is_sent_to_the_login(member_client):
    home = member_client.get(reverse("dashboard:home"))
    admin_index = member_client.get(reverse("admin:index"))
    action_list = member_client.get(reverse("admin:actions_action_changelist"))

    assert ADMIN_LINK not in home.content.decode()
    assert admin_index.status_code == 302
    assert admin_index["Location"].startswith(reverse("admin:login"))
    assert action_list["Location"].startswith(reverse("admin:login"))


def test_the_coordinator_sees_the_link_and_the_back_office(coordinator_client):
    home = coordinator_client.get(reverse("dashboard:home"))
    admin_index = coordinator_client.get(reverse("admin:index"))

    assert ADMIN_LINK in home.content.decode()
    assert admin_index.status_code == 200
    assert "Tableau de bord de la coordination" in admin_index.content.decode()


def test_a_member_let_into_the_back_office_sees_the_link(client, backoffice_member):
    client.force_login(backoffice_member)

    assert ADMIN_LINK in client.get(reverse("dashboard:home")).content.decode()


def test_staff_without_any_admin_permission_sees_no_link(client, django_user_model):
    # Staff status alone opens an empty back-office: no link to it.
    user = django_user_model.objects.create_user("vide", password="x", is_staff=True)
    client.force_login(user)

    assert ADMIN_LINK not in client.get(reverse("dashboard:home")).content.decode()
