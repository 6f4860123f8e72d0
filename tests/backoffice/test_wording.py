"""The back-office speaks of each kind of plan data as a sentence should, in French (gender,
number, elision) and in English, instead of Django's « Ajout de action » or « L'objet action
… a été modifié avec succès »."""

import json
import re
from html import unescape
from pathlib import Path

import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils import translation

from actions.models import Action, Target
from backoffice.wording import GENDERS
from partners.models import Organisation
from plans.models import Objective, Plan
from tests.factories import (
    ActionFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PlanFactory,
    TargetFactory,
)
from tests.helpers import change_form_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coordinator_of_every_coalition")]


@pytest.fixture
def speaks(coordinator_client):
    """The coordinator's client, in the language asked for."""

    def switch(language):
        coordinator_client.post(reverse("set_language"), {"language": language, "next": "/"})
        return coordinator_client

    return switch


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def text(response):
    """The page as read: tags gone (links within their sentence), the buttons' words kept,
    entities decoded, spaces collapsed."""
    content = re.sub(r"</?a\b[^>]*>", "", response.content.decode())
    content = re.sub(r'<input type="submit" value="([^"]*)"[^>]*>', r" \1 ", content)
    content = re.sub(r"<[^>]+>", " ", content)
    return re.sub(r"\s+", " ", unescape(content))


def h1(response):
    return unescape(re.search(r"<h1>(.*?)</h1>", response.content.decode(), re.S)[1]).strip()


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def saved(client, obj, button="_save"):
    page = client.get(url(type(obj), "change", obj.pk))
    return client.post(url(type(obj), "change", obj.pk), {**change_form_data(page), button: "1"})


FRENCH_TITLES = [
    # model, add, change, list, bulk delete
    (
        Action,
        "Ajouter une action",
        "Modifier l'action",
        "Choisir une action à modifier",
        "Supprimer les actions sélectionnées",
    ),
    (
        Organisation,
        "Ajouter une organisation",
        "Modifier l'organisation",
        "Choisir une organisation à modifier",
        "Supprimer les organisations sélectionnées",
    ),
    (
        Target,
        "Ajouter une cible",
        "Modifier la cible",
        "Choisir une cible à modifier",
        "Supprimer les cibles sélectionnées",
    ),
    (
        Plan,
        "Ajouter un plan",
        "Modifier le plan",
        "Choisir un plan à modifier",
        "Supprimer les plans sélectionnés",
    ),
    (
        Objective,
        "Ajouter un objectif",
        "Modifier l'objectif",
        "Choisir un objectif à modifier",
        "Supprimer les objectifs sélectionnés",
    ),
]
ENGLISH_TITLES = [
    (Action, "Add action", "Change action", "Choose action to change", "Delete selected actions"),
    (Plan, "Add plan", "Change plan", "Choose plan to change", "Delete selected plans"),
    (Target, "Add target", "Change target", "Choose target to change", "Delete selected targets"),
]
OBJECTS = {
    Action: lambda: ActionFactory(title="Jardins collectifs"),
    Organisation: lambda: OrganisationFactory(name="Jeunes au travail"),
    Target: lambda: TargetFactory(description="Boîte à outils"),
    Plan: lambda: PlanFactory(title="Plan concerté"),
    Objective: lambda: ObjectiveFactory(title="Nourrir Laval"),
}


@pytest.mark.parametrize(
    ("language", "model", "add", "change", "listed", "bulk_delete"),
    [("fr", *row) for row in FRENCH_TITLES] + [("en", *row) for row in ENGLISH_TITLES],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_titles_agree_with_the_model(speaks, language, model, add, change, listed, bulk_delete):
    client = speaks(language)
    obj = OBJECTS[model]()

    add_page = client.get(url(model, "add"))
    change_page = client.get(url(model, "change", obj.pk))
    list_page = client.get(url(model, "changelist"))

    assert h1(add_page) == add
    assert add in text(add_page).split("›")[-1]  # the crumb, too
    assert h1(change_page) == change
    assert h1(list_page) == listed
    assert add in text(list_page)  # the list's "add" button
    assert bulk_delete in text(list_page)  # the bulk action's choice


@pytest.mark.parametrize(
    ("language", "model", "changed", "edit_again"),
    [
        ("fr", Action, "L'action « {} » a été modifiée.", "Vous pouvez la modifier de nouveau"),
        ("fr", Target, "La cible « {} » a été modifiée.", "Vous pouvez la modifier de nouveau"),
        ("fr", Plan, "Le plan « {} » a été modifié.", "Vous pouvez le modifier de nouveau"),
        ("fr", Objective, "L'objectif « {} » a été modifié.", "Vous pouvez le modifier"),
        ("en", Action, "The action “{}” was changed.", "You may edit it again below."),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_saved_messages_agree(speaks, language, model, changed, edit_again):
    client = speaks(language)
    obj = OBJECTS[model]()

    response = saved(client, obj)
    followed = client.get(response["Location"])
    continued = saved(client, obj, "_continue")

    assert response.status_code == 302
    assert changed.format(obj) in text(followed)
    assert "avec succès" not in text(followed)
    assert edit_again in text(client.get(continued["Location"]))


def test_added_and_deleted_messages_agree_for_an_organisation(speaks):
    client = speaks("fr")

    added = client.post(
        url(Organisation, "add"),
        {
            "name": "Panier de Chomedey",
            "kind": Organisation.Kind.values[0],
            "_addanother": "1",
            "action_links-TOTAL_FORMS": "0",
            "action_links-INITIAL_FORMS": "0",
        },
    )
    added_page = text(client.get(added["Location"]))
    organisation = Organisation.objects.get(name="Panier de Chomedey")
    deleted = client.post(url(Organisation, "delete", organisation.pk), {"post": "yes"})

    assert "L'organisation « Panier de Chomedey » a été ajoutée." in added_page
    assert "Vous pouvez ajouter une autre organisation ci-dessous." in added_page
    assert "L'organisation « Panier de Chomedey » a été supprimée." in text(
        client.get(deleted["Location"])
    )


def test_the_delete_page_and_the_history_speak_of_the_action(speaks):
    client = speaks("fr")
    action = ActionFactory(title="Jardins collectifs")

    delete_page = client.get(url(Action, "delete", action.pk))
    history_page = client.get(url(Action, "history", action.pk))

    assert h1(delete_page) == "Supprimer l'action"
    assert f"Voulez-vous vraiment supprimer l'action « {action} » ?" in text(delete_page)
    assert "Oui, supprimer" in text(delete_page)
    assert h1(history_page) == f"Historique de l'action « {action} »"


def test_the_bulk_delete_page_speaks_of_the_chosen_plans(speaks):
    client = speaks("fr")
    plans = [PlanFactory(), PlanFactory()]

    response = client.post(
        url(Plan, "changelist"),
        {"action": "delete_selected", "_selected_action": [p.pk for p in plans]},
    )

    assert h1(response) == "Supprimer les plans sélectionnés"
    assert "Voulez-vous vraiment supprimer les plans sélectionnés ?" in text(response)


@pytest.mark.parametrize(
    ("language", "buttons"),
    [
        (
            "fr",
            {
                "partner_links": "Ajouter un porteur ou partenaire",
                "targets": "Ajouter une cible",
            },
        ),
        (
            "en",
            {
                "partner_links": "Add another lead organisation or partner",
                "targets": "Add another target",
            },
        ),
    ],
)
def test_the_add_a_row_buttons_name_the_row(speaks, language, buttons):
    client = speaks(language)
    action = ActionFactory()

    response = client.get(url(Action, "change", action.pk))

    shown = {
        inline.formset.prefix: json.loads(inline.inline_formset_data())["options"]["addText"]
        for inline in response.context["inline_admin_formsets"]
    }
    assert shown == buttons

    add_another = {"fr": "Enregistrer et en ajouter une autre", "en": "Save and add another"}
    assert add_another[language] in text(client.get(url(Action, "add")))


def test_the_selection_counter_and_the_not_found_message_are_right_for_any_noun(speaks):
    client = speaks("fr")
    ActionFactory()

    page = text(client.get(url(Action, "changelist")))
    missing = client.get(url(Action, "change", 999_999), follow=True)

    assert "Sélection : 0 sur 1" in page
    assert "sélectionné" not in page.replace("sélectionnées", "")
    assert "L'action n° 999999 n'existe pas ou plus : elle a peut-être été supprimée." in text(
        missing
    )


def test_every_plan_data_model_has_its_gender():
    plan_data = {"plans", "actions", "partners"}
    registered = {
        m._meta.label_lower for m in admin.site._registry if m._meta.app_label in plan_data
    }
    in_rows = {
        inline.model._meta.label_lower
        for model_admin in admin.site._registry.values()
        for inline in model_admin.inlines
    }

    assert (registered | in_rows) - set(GENDERS) == set()
    assert all(apps.get_model(label) for label in GENDERS)


def test_the_french_overrides_still_match_djangos_own_sentences():
    """locale/fr overrides Django's English msgids (kept by hand, not by makemessages): an
    upgrade that renames one would silently bring the old French back."""
    django_admin = Path(admin.__file__).parent / "locale" / "fr" / "LC_MESSAGES"
    ours = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES"
    for domain in ("django", "djangojs"):
        theirs = {e.msgid for e in polib.pofile(django_admin / f"{domain}.po")}
        for entry in polib.pofile(ours / f"{domain}.po"):
            assert entry.msgid in theirs, entry.msgid
            with translation.override("fr"):
                assert entry.msgstr or entry.msgstr_plural
