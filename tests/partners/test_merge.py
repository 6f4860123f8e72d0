"""Merging duplicate organisations ("Ville" and "Ville de Laval"): the links move with their
text as written in the plan and their history, two links to the same action become one,
memberships follow, the others go to the trash, signed; another coalition's organisations
stay out of reach."""

import re
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from playwright.sync_api import expect

from backoffice import trash
from partners.admin import OrganisationFilter
from partners.models import ActionPartner, Organisation
from partners.services import merge_organisations
from plans.groups import COORDINATION
from plans.models import Membership
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    CoalitionFactory,
    OrganisationFactory,
    PlanFactory,
    SubObjectiveFactory,
)
from tests.helpers import PLAN_PATH, log_in, make_user, shoot

ORGANISATIONS = reverse("admin:partners_organisation_changelist")
MERGE_PAGE_MAX_QUERIES = 12
Role, Confirmation = ActionPartner.Role, ActionPartner.Confirmation


def action_of(coalition):
    plan = PlanFactory(coalition=coalition)
    return ActionFactory(sub_objective=SubObjectiveFactory(objective__plan=plan))


@pytest.fixture
def laval(db, coordinator):
    """Coalition A (the coordinator's) with "Ville" and "Ville de Laval" on its actions, and
    coalition B with an action of its own."""
    mine, theirs = CoalitionFactory(name="Coalition A"), CoalitionFactory(name="Coalition B")
    Membership.objects.create(coalition=mine, user=coordinator)
    city, city_of_laval = (
        OrganisationFactory(name="Ville", short_name=""),
        OrganisationFactory(name="Ville de Laval", short_name="VdL"),
    )
    first, second, shared = action_of(mine), action_of(mine), action_of(mine)
    return SimpleNamespace(
        mine=mine,
        theirs=theirs,
        city=city,
        city_of_laval=city_of_laval,
        first=first,
        second=second,
        shared=shared,
        their_action=action_of(theirs),
        city_link=ActionPartnerFactory(
            action=first, organisation=city, label_in_source="Ville", note="Service des loisirs"
        ),
        laval_link=ActionPartnerFactory(
            action=second, organisation=city_of_laval, label_in_source="Ville de Laval"
        ),
    )


def history_of(link):
    return list(ActionPartner.history.filter(id=link.pk).order_by("history_id"))


# --- The service -----------------------------------------------------------------------------


def test_links_move_with_their_text_as_written_and_their_history(laval, coordinator):
    before = history_of(laval.city_link)

    summary = merge_organisations(keep=laval.city_of_laval, others=[laval.city], user=coordinator)

    link = ActionPartner.objects.get(pk=laval.city_link.pk)
    assert link.organisation == laval.city_of_laval
    assert link.label_in_source == "Ville"  # as written in the plan, still
    assert link.note == "Service des loisirs"
    after = history_of(link)
    assert after[: len(before)] == before  # its past is kept
    assert after[-1].organisation_id == laval.city_of_laval.pk
    assert after[-1].history_user == coordinator
    assert after[-1].history_change_reason == "Fusion dans « Ville de Laval »"
    assert summary.moved_links == 1 and summary.merged_links == 0
    assert not Organisation.objects.filter(pk=laval.city.pk).exists()


def test_the_others_go_to_the_trash_signed(laval, coordinator):
    merge_organisations(keep=laval.city_of_laval, others=[laval.city], user=coordinator)
    deletion = Organisation.history.get(id=laval.city.pk, history_type="-")
    assert deletion.history_user == coordinator
    assert [r.id for r in trash.deleted_objects(Organisation, coordinator)] == [laval.city.pk]
    kept = Organisation.history.filter(id=laval.city_of_laval.pk).latest("history_id")
    assert kept.history_user == coordinator
    assert kept.history_change_reason == "Fusion de « Ville »"


def test_a_merged_organisation_comes_back_from_the_trash_without_the_links_it_gave(
    laval, coordinator
):
    merge_organisations(keep=laval.city_of_laval, others=[laval.city], user=coordinator)
    (record,) = trash.deleted_objects(Organisation, coordinator)
    restored, _others = trash.restore(record=record, user=coordinator)
    assert restored.name == "Ville"
    # Its link stays with the one kept: moving it back is a change of that link, by hand.
    assert ActionPartner.objects.get(pk=laval.city_link.pk).organisation == laval.city_of_laval


def test_two_links_to_the_same_action_become_one_with_the_stronger_values(laval, coordinator):
    """Both were written in action 1's cell: one link stays, a carrier rather than a
    partner, confirmed rather than potential, with both names as written and both notes."""
    kept_link = ActionPartnerFactory(
        action=laval.first,
        organisation=laval.city_of_laval,
        role=Role.PARTNER,
        confirmation=Confirmation.CONFIRMED_COLLABORATOR,
        label_in_source="Ville de Laval",
        note="Contact : M. Roy",
    )
    ActionPartner.objects.filter(pk=laval.city_link.pk).update(
        role=Role.CARRIER, confirmation=Confirmation.POTENTIAL
    )

    summary = merge_organisations(keep=laval.city_of_laval, others=[laval.city], user=coordinator)

    links = list(ActionPartner.objects.filter(action=laval.first))
    assert links == [kept_link]
    link = links[0]
    assert link.role == Role.CARRIER
    assert link.confirmation == Confirmation.CONFIRMED_COLLABORATOR
    assert link.label_in_source == "Ville de Laval / Ville"
    assert link.note == "Contact : M. Roy / Service des loisirs"
    assert summary.merged_links == 1
    gone = ActionPartner.history.get(id=laval.city_link.pk, history_type="-")
    assert gone.history_user == coordinator


def test_memberships_move_and_the_name_may_change(laval, coordinator, django_user_model):
    seat = Membership.objects.create(
        coalition=laval.mine,
        user=make_user(django_user_model, "employee"),
        organisation=laval.city,
    )
    merge_organisations(
        keep=laval.city_of_laval, others=[laval.city], user=coordinator, name="Ville"
    )
    seat.refresh_from_db()
    assert seat.organisation == laval.city_of_laval
    laval.city_of_laval.refresh_from_db()
    assert laval.city_of_laval.name == "Ville"  # the name of the one deleted, free now
    assert laval.city_of_laval.short_name == "VdL"


def test_an_organisation_of_another_coalition_is_refused_and_nothing_changes(laval, coordinator):
    ActionPartnerFactory(action=laval.their_action, organisation=laval.city)
    with pytest.raises(ValidationError) as refused:
        merge_organisations(
            keep=laval.city_of_laval,
            others=[laval.city],
            user=coordinator,
            coalitions={laval.mine.pk},
        )
    assert "« Ville » : cette organisation travaille aussi avec une autre coalition" in str(
        refused.value
    )
    assert Organisation.objects.filter(pk=laval.city.pk).exists()
    assert ActionPartner.objects.get(pk=laval.city_link.pk).organisation == laval.city


# --- The admin action ------------------------------------------------------------------------


def choose(client, organisations, **fields):
    data = {
        "action": "merge_action",
        "_selected_action": [str(o.pk) if hasattr(o, "pk") else o for o in organisations],
        **fields,
    }
    return client.post(ORGANISATIONS, data, follow=True)


def text_of(response):
    page = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(page.split()).replace("&#x27;", "'").replace("&quot;", '"')


def test_the_confirmation_page_shows_each_ones_links(coordinator_client, laval):
    ActionPartnerFactory(action=laval.first, organisation=laval.city_of_laval)
    response = choose(coordinator_client, [laval.city, laval.city_of_laval])
    page = response.content.decode()
    assert "Choisissez l'organisation à garder." in text_of(response)
    # The one with the most links is proposed first, and chosen.
    assert re.search(
        rf'value="{laval.city_of_laval.pk}" id="keep-{laval.city_of_laval.pk}" checked', page
    )
    rows = re.findall(r"<tr>.*?</tr>", page, flags=re.S)
    assert re.search(r"Ville de Laval \(VdL\).*?<td>—</td>\s*<td>2</td>", rows[1], re.S)
    assert re.search(r"Ville</label>.*?<td>—</td>\s*<td>1</td>", rows[2], re.S)
    assert Organisation.objects.count() == 2  # nothing done yet


def test_the_coordinator_merges_and_the_filter_lists_one(coordinator_client, laval):
    response = choose(
        coordinator_client,
        [laval.city, laval.city_of_laval],
        apply="1",
        keep=str(laval.city_of_laval.pk),
        name="",
    )
    assert (
        "1 organisation fusionnée dans « Ville de Laval » : Ville. 1 lien à une action "
        "déplacé." in text_of(response)
    )
    changelist = coordinator_client.get(reverse("admin:actions_action_changelist"))
    organisation_filter = next(
        spec
        for spec in changelist.context["cl"].filter_specs
        if isinstance(spec, OrganisationFilter)
    )
    assert [name for _pk, name in organisation_filter.lookup_choices] == ["Ville de Laval"]


def test_one_organisation_is_not_a_merge(coordinator_client, laval):
    response = choose(coordinator_client, [laval.city])
    assert "Choisissez au moins deux organisations à fusionner." in text_of(response)
    assert Organisation.objects.count() == 2


def test_a_shared_organisation_is_refused_to_the_other_coalitions_coordinator(
    coordinator_client, laval
):
    """ "Ville" also works with coalition B: the coordinator of A sees it (it is on her
    actions) but merging it would change B's links."""
    ActionPartnerFactory(action=laval.their_action, organisation=laval.city)
    response = choose(
        coordinator_client,
        [laval.city, laval.city_of_laval],
        apply="1",
        keep=str(laval.city_of_laval.pk),
    )
    assert "cette organisation travaille aussi avec une autre coalition" in text_of(response)
    assert "Coalition B" not in text_of(response)
    assert Organisation.objects.count() == 2
    assert ActionPartner.objects.get(pk=laval.city_link.pk).organisation == laval.city


def test_a_superuser_merges_a_shared_organisation(client, django_user_model, laval):
    their_link = ActionPartnerFactory(action=laval.their_action, organisation=laval.city)
    client.force_login(django_user_model.objects.create_superuser("admin", password="x"))
    choose(client, [laval.city, laval.city_of_laval], apply="1", keep=laval.city_of_laval.pk)
    their_link.refresh_from_db()
    assert their_link.organisation == laval.city_of_laval


def test_another_coalitions_organisation_cannot_be_merged(coordinator_client, laval):
    """Only on B's actions: merging it would change B's links, whichever one is kept."""
    theirs = OrganisationFactory(name="Organisme Bergamote")
    their_link = ActionPartnerFactory(action=laval.their_action, organisation=theirs)
    for keep in (theirs, laval.city):
        response = choose(coordinator_client, [laval.city, theirs], apply="1", keep=keep.pk)
        assert "cette organisation travaille aussi avec une autre coalition" in text_of(response)
        assert Organisation.objects.count() == 3
        their_link.refresh_from_db()
        assert their_link.organisation == theirs


def test_another_coalitions_own_organisation_is_dropped_from_the_choice(coordinator_client, laval):
    """B's coordination (its own coalition is B): not in her list, so a posted id of it is
    dropped, and then there is only one organisation left to merge."""
    theirs = OrganisationFactory(name="Coordination Bergamote", coalition=laval.theirs)
    response = choose(coordinator_client, [laval.city, theirs], apply="1", keep=str(theirs.pk))
    assert "Choisissez au moins deux organisations à fusionner." in text_of(response)
    assert "Bergamote" not in text_of(response)
    assert Organisation.objects.count() == 3


@pytest.mark.parametrize(
    ("keep", "name", "message"),
    [
        ("abc", "", "Choisissez l'organisation à garder parmi celles de la liste."),
        ("", "", "Choisissez l'organisation à garder."),
        ("999999", "", "Choisissez l'organisation à garder parmi celles de la liste."),
        ("9" * 40, "", "Choisissez l'organisation à garder parmi celles de la liste."),
        ("city", "x" * 5000, "Ce nom est trop long : 200 caractères au plus."),
        ("city", "Ville\x00", "Le caractère nul n’est pas autorisé."),
    ],
)
def test_hostile_input_writes_nothing(coordinator_client, laval, keep, name, message):
    keep = str(laval.city.pk) if keep == "city" else keep
    before = ActionPartner.history.count(), Organisation.history.count()
    response = choose(
        coordinator_client, [laval.city, laval.city_of_laval], apply="1", keep=keep, name=name
    )
    assert response.status_code == 200
    assert message in text_of(response)
    assert (ActionPartner.history.count(), Organisation.history.count()) == before


def test_a_name_already_taken_is_refused(coordinator_client, laval):
    OrganisationFactory(name="Moisson Laval")
    response = choose(
        coordinator_client,
        [laval.city, laval.city_of_laval],
        apply="1",
        keep=laval.city.pk,
        name="Moisson Laval",
    )
    assert "Un objet Organisation avec ce champ Nom existe déjà." in text_of(response)
    assert Organisation.objects.filter(pk=laval.city_of_laval.pk).exists()


UNREADABLE = "La sélection envoyée est illisible : rien n'a été changé."


@pytest.mark.parametrize(
    ("selected", "message"),
    [
        ("abc", UNREADABLE),
        ("9" * 40, UNREADABLE),
        ("-1", "Choisissez au moins deux organisations à fusionner."),
    ],
)
def test_unreadable_selected_ids_write_nothing(coordinator_client, laval, selected, message):
    response = choose(coordinator_client, [laval.city, selected], apply="1", keep=laval.city.pk)
    assert response.status_code == 200
    assert message in text_of(response)
    assert Organisation.objects.count() == 2


def test_the_confirmation_page_queries_do_not_grow(
    coordinator_client, laval, django_assert_max_num_queries
):
    counts = []
    for size in (2, 30):
        organisations = OrganisationFactory.create_batch(size)
        for organisation in organisations:
            ActionPartnerFactory(action=laval.first, organisation=organisation)
        with django_assert_max_num_queries(MERGE_PAGE_MAX_QUERIES) as captured:
            response = choose(coordinator_client, organisations)
        assert text_of(response).count("Organisme") >= size
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- In the browser: the seeded CASAL plan ---------------------------------------------------


def test_in_the_browser_the_three_nutritionists_become_one(page, casal):
    log_in(page, casal.coordinator, PLAN_PATH)
    page.goto(ORGANISATIONS + "?q=Nutritionniste")
    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option("merge_action")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_role("heading", name="Fusionner des organisations")).to_be_visible()
    page.get_by_label("Nutritionnistes", exact=True).check()
    page.get_by_label("Son nom après la fusion").fill("Nutritionnistes")
    shoot(page, "organisation-merge-confirm")
    page.get_by_role("button", name="Fusionner").click()
    expect(page.get_by_text("2 organisations fusionnées dans « Nutritionnistes »")).to_be_visible()
    merged = Organisation.objects.get(name="Nutritionnistes")
    assert sorted(merged.action_links.values_list("label_in_source", flat=True)) == [
        "Nutritionniste",
        "Nutritionniste RLP",
        "Nutritionnistes",
    ]
    assert not Organisation.objects.filter(name__startswith="Nutritionniste ").exists()


def test_coordinators_may_merge(db):
    # The merge needs both "change" and "delete" on organisations: the coordinators have them.
    from django.contrib.auth.models import Group

    codenames = set(
        Group.objects.get(name=COORDINATION).permissions.values_list("codename", flat=True)
    )
    assert {"change_organisation", "delete_organisation"} <= codenames


def test_the_kept_one_takes_the_name_of_one_merged_into_it(coordinator_client, laval):
    response = choose(
        coordinator_client,
        [laval.city, laval.city_of_laval],
        apply="1",
        keep=laval.city.pk,
        name="Ville de Laval",
    )
    assert (
        "1 organisation fusionnée dans « Ville de Laval » : Ville de Laval. « Ville » s'appelle "
        "maintenant « Ville de Laval »." in text_of(response)
    )
    assert list(Organisation.objects.values_list("pk", "name")) == [
        (laval.city.pk, "Ville de Laval")
    ]


# --- Two coordinators at the same instant ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_coordinators_merging_the_same_organisations_at_once(live_server, django_user_model):
    """Both choose the same two organisations and confirm at the same instant: one merge
    goes through, the other writes nothing and says why; no link is lost."""
    from tests.concurrency import PAIRS, at_once, fields_of, post_at_once, text, two_coordinators

    coalition = CoalitionFactory()
    with two_coordinators(live_server, django_user_model, coalition) as (_users, browsers):
        for pair in range(PAIRS):
            action = action_of(coalition)
            pair_of = [OrganisationFactory(name=f"Ville {pair}"), OrganisationFactory()]
            links = [ActionPartnerFactory(action=action, organisation=o) for o in pair_of]
            selection = [("action", "merge_action"), ("index", "0")] + [
                ("_selected_action", str(o.pk)) for o in pair_of
            ]

            def choose(browser, selection=selection):
                page = browser.request("GET", ORGANISATIONS)
                token = dict(fields_of(page, "changelist-form"))["csrfmiddlewaretoken"]
                fields = [("csrfmiddlewaretoken", token), *selection]
                return browser.request("POST", ORGANISATIONS, fields, referer=ORGANISATIONS)

            pages = at_once(*(lambda b=b: choose(b) for b in browsers))
            posts = [fields_of(page, "merge-form", "apply") for page in pages]
            responses = post_at_once(browsers, ORGANISATIONS, posts)
            told = [text(browser.request("GET", ORGANISATIONS)) for browser in browsers]

            assert all(response.status in (200, 302) for response in responses)
            assert Organisation.objects.filter(pk__in=[o.pk for o in pair_of]).count() == 1
            assert ActionPartner.objects.filter(action=action).count() == 1
            merged = [t for t in told if "1 organisation fusionnée" in t]
            assert len(merged) == 1, told
            refused = told[1 - told.index(merged[0])] + text(responses[1 - told.index(merged[0])])
            assert (
                "Choisissez au moins deux organisations à fusionner." in refused
                or "Une des organisations choisies vient d'être supprimée" in refused
            ), refused
            del links
