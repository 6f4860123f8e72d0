"""A CASAL member reads her coalition's dashboard in a real browser.

Playwright drives Debian's Chromium (/usr/bin/chromium); Playwright's own browser download is
never used. The tests assert what the member sees (text, roles, visibility), and save a
screenshot of each step in /tmp/browser-shots/ for a human to look at.
"""

import re
import shutil

from playwright.sync_api import expect

from tests.helpers import PLAN_PATH, PLAN_TITLE, SHOTS, STARTED, fill_login_form, log_in, shoot

ACTION_COUNT = 35
LATE_COUNT = 31  # every action scheduled in a period, all of which ended by March 2020
PERIODS = ["2016-2018", "2018-2019", "2019-2020"]
STARTED_TITLE = "S'arrimer aux démarches municipales de soutien aux jardins"
CSDL_ACTIONS = 8
LEGEND = [
    "Membre confirmé (noir)",
    "Membre à valider (mauve)",
    "Collaborateur potentiel (à solliciter ou valider) (rouge)",
    "Collaborateur confirmé (bleu)",
    "A décliné (gris barré)",
    "Non précisé (gris)",
]
STATUS_CHANGE = "Statut : À venir → En cours"


# --------------------------------------------------------------------------- helpers


def action_rows(page):
    return page.locator("tr.action-row")


# --------------------------------------------------------------------------- tests


def test_member_logs_in_and_sees_the_casal_plan_card(page, casal):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/comptes/login/\?next=/$"))
    shoot(page, "01-login")

    fill_login_form(page, "membre")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Plans d'action", level=1)).to_be_visible()
    expect(page.locator(".user-name")).to_have_text("membre")
    expect(page.locator("main .my-organisation")).to_have_text("Mon organisme : CSDL")

    card = page.locator(".plan-card").filter(has=page.get_by_role("link", name=PLAN_TITLE))
    expect(card).to_be_visible()
    expect(card).to_contain_text("Plan d'action opérationnel · 2016–2020")
    # The counts first, then the estimate: one action in progress counts half-way.
    expect(card.locator(".status-sentence")).to_have_text(
        f"1 en cours, {ACTION_COUNT - 1} à venir — sur {ACTION_COUNT} actions"
    )
    expect(card.locator(".plan-progress")).to_have_text(
        f"Avancement estimé {round(50 / ACTION_COUNT)} %"
    )
    expect(card.locator(".progress-rule")).to_contain_text("en cours 50 %")
    counts = card.locator(".status-counts li")
    expect(counts.filter(has_text="À venir")).to_have_text(f"À venir {ACTION_COUNT - 1}")
    expect(counts.filter(has_text="En cours")).to_have_text("En cours 1")
    expect(counts.filter(has_text="En retard")).to_have_text(f"En retard {LATE_COUNT}")
    expect(card.get_by_role("link", name="Ouvrir le plan")).to_be_visible()
    shoot(page, "02-home")

    card.get_by_role("link", name=PLAN_TITLE).click()
    expect(page).to_have_url(re.compile(re.escape(PLAN_PATH) + "$"))
    expect(page.get_by_role("heading", name=PLAN_TITLE, level=1)).to_be_visible()


def test_plan_page_shows_objectives_statuses_legend_and_schedule(page, casal):
    log_in(page, casal.member, PLAN_PATH)

    expect(page.get_by_role("heading", name=PLAN_TITLE, level=1)).to_be_visible()
    expect(page.locator(".plan-meta")).to_contain_text("Du 1er avril 2016 au 31 mars 2020")
    objectives = page.locator("tr.objective-row")
    expect(objectives).to_have_count(3)
    for number, row in enumerate(objectives.all(), start=1):
        expect(row).to_contain_text(f"OBJECTIF {number} · ")
    expect(objectives.first).to_contain_text("SOUTENIR LE DÉVELOPPEMENT D'UN CONTINUUM")

    expect(page.locator(".shown-count")).to_have_text(f"{ACTION_COUNT} actions.")
    rows = action_rows(page)
    expect(rows).to_have_count(ACTION_COUNT)
    started = rows.filter(has=page.get_by_role("link", name=STARTED, exact=True))
    expect(started.locator(".status-badge")).to_have_text("En cours")
    expect(started.locator(".late-badge")).to_have_text("En retard")
    expect(rows.locator(".status-badge", has_text="À venir")).to_have_count(ACTION_COUNT - 1)

    legend = page.get_by_role("note", name="Légende des porteurs et partenaires")
    expect(legend).to_be_visible()
    for entry in LEGEND:
        expect(legend).to_contain_text(entry)

    table = page.get_by_role("table", name=re.compile(f"^Actions du plan {re.escape(PLAN_TITLE)}"))
    headers = table.locator("thead th")
    expect(headers).to_have_text(
        ["Code", "Action", "Statut", "Avancement", "Porteurs et partenaires", *PERIODS]
    )
    for period in PERIODS:
        expect(table.get_by_role("columnheader", name=period)).to_be_visible()
    # 1.1.1 is scheduled in the first period only: an X there (said in words to screen
    # readers), nothing in the others.
    expect(started.locator("td.schedule")).to_have_text(["Xprévue en 2016-2018", "", ""])
    shoot(page, "03-plan")


def test_member_filters_by_an_organisation_and_opens_an_action(page, casal):
    log_in(page, casal.member, PLAN_PATH)
    expect(action_rows(page)).to_have_count(ACTION_COUNT)

    filters = page.get_by_role("search", name="Filtrer les actions")
    filters.get_by_label("Porteur ou partenaire").select_option(label="CSDL")
    filters.get_by_role("button", name="Filtrer").click()

    expect(page).to_have_url(re.compile(rf"[?&]organisation={casal.csdl.pk}(&|$)"))
    expect(page.locator(".shown-count")).to_have_text(
        f"{CSDL_ACTIONS} actions sur {ACTION_COUNT} correspondent aux filtres."
    )
    expect(action_rows(page)).to_have_count(CSDL_ACTIONS)
    for row in action_rows(page).all():
        expect(row.locator(".partners")).to_contain_text("CSDL")
    expect(filters.get_by_label("Porteur ou partenaire")).to_have_value(str(casal.csdl.pk))
    expect(page.get_by_role("link", name="Tout afficher")).to_be_visible()
    shoot(page, "04-plan-filtered")

    page.get_by_role("link", name=STARTED, exact=True).click()
    expect(page).to_have_url(re.compile(rf"{re.escape(PLAN_PATH)}actions/{STARTED}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{STARTED} {STARTED_TITLE}")
    expect(page.locator(".action-state .status-badge")).to_have_text("En cours")

    means = page.get_by_role("region", name="Moyens d'action et conditions de réalisation")
    expect(means).to_contain_text(
        "Participer aux travaux (soutenir et influencer en tant que partie prenante)."
    )
    targets = page.get_by_role("region", name="Cibles et résultats attendus")
    target = targets.get_by_role("row", name=re.compile("^Participation au comité de travail"))
    expect(target).to_contain_text("Livrable")
    expect(target).to_contain_text("Pas encore livré")

    partners = page.get_by_role("region", name="Porteurs et partenaires")
    for name in ["Enfant d'Abord", "RUI", "CSDL", "Ville de Laval", "Centre horticole de Laval"]:
        expect(
            partners.get_by_role("link", name=re.compile(f"^{re.escape(name)} –"))
        ).to_be_visible()
    expect(partners.get_by_role("note")).to_contain_text("Non précisé (gris)")

    schedule = page.get_by_role("region", name="Calendrier")
    expect(schedule.get_by_role("columnheader")).to_have_text(PERIODS)
    expect(schedule.locator("td")).to_have_text(["Xprévue", "non prévue", "non prévue"])

    timeline = page.get_by_role("region", name="Suivi : notes et changements")
    change = timeline.locator(".change").filter(has_text=STATUS_CHANGE)
    expect(change).to_have_count(1)
    expect(change.locator(".change-meta")).to_contain_text("coordo")
    shoot(page, "05-action")


def test_changes_page_tells_who_started_the_action(page, casal):
    log_in(page, casal.member, PLAN_PATH)

    # The seeded plan was adopted at the members' assembly of 1 February 2017: the changes
    # page counts from there, out of the box.
    page.get_by_role(
        "link", name="Ce qui a changé depuis la dernière assemblée (1er février 2017)"
    ).click()
    expect(page).to_have_url(re.compile(rf"{re.escape(PLAN_PATH)}changements/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Ce qui a changé depuis le 1er février 2017"
    )
    expect(page.locator(".since-reason")).to_contain_text(
        "C'est la date de l'assemblée « Assemblée des membres du CASAL »."
    )
    expect(page.get_by_role("heading", name="1 changement", exact=True)).to_be_visible()
    expect(page.locator(".change-counts .change-status")).to_have_text("1 changement de statut")

    group = page.get_by_role("region", name=f"{STARTED} {STARTED_TITLE}")
    expect(group.locator(".change-headline")).to_have_text(STATUS_CHANGE)
    expect(group.locator(".change-meta")).to_contain_text("coordo")
    shoot(page, "06-changes")

    group.get_by_role("link", name=f"{STARTED} {STARTED_TITLE}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{STARTED} {STARTED_TITLE}")


def test_language_switch_stays_on_the_same_page(page, casal, live_server):
    log_in(page, casal.member, PLAN_PATH)
    page.get_by_role("link", name="Ce que CSDL porte ou appuie").click()
    filtered = f"{live_server.url}{PLAN_PATH}?organisation={casal.csdl.pk}"
    expect(page).to_have_url(filtered)
    expect(page.locator("html")).to_have_attribute("lang", "fr")

    # By value: the menu names each language in the page's language ("Anglais" here).
    page.get_by_label("Langue", exact=True).select_option("en")
    page.get_by_role("button", name="Changer").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(filtered)
    expect(page.locator("#language")).to_have_value("en")
    expect(action_rows(page)).to_have_count(CSDL_ACTIONS)
    shoot(page, "07-plan-english")

    # Reloading keeps the choice: it lives in a cookie, not in the address.
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    switch = page.locator("form.language-switch")
    switch.locator("#language").select_option("fr")
    switch.get_by_role("button").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_url(filtered)
    expect(page.get_by_role("button", name="Changer")).to_be_visible()


def test_printed_plan_keeps_the_table_and_drops_the_controls(page, casal, tmp_path):
    log_in(page, casal.member, PLAN_PATH)
    header = page.get_by_role("banner").filter(has=page.get_by_role("navigation"))
    nav = page.get_by_role("navigation", name="Navigation principale")
    filters = page.get_by_role("search", name="Filtrer les actions")
    table = page.get_by_role("table", name=re.compile("^Actions du plan"))
    footer = page.get_by_role("contentinfo")

    # On screen, the footer (print date and address) is not shown.
    expect(nav).to_be_visible()
    expect(filters).to_be_visible()
    expect(footer).to_be_hidden()

    page.emulate_media(media="print")
    expect(header).to_be_hidden()
    expect(nav).to_be_hidden()
    expect(page.get_by_label("Langue", exact=True)).to_be_hidden()
    expect(filters).to_be_hidden()
    expect(page.get_by_role("button", name="Télécharger le classeur")).to_be_hidden()
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_hidden()
    expect(table).to_be_visible()
    expect(action_rows(page)).to_have_count(ACTION_COUNT)
    expect(footer).to_be_visible()
    expect(footer).to_contain_text("Imprimé le")
    expect(footer).to_contain_text(PLAN_PATH)
    shoot(page, "08-plan-print")

    pdf = tmp_path / "plan.pdf"
    page.pdf(path=pdf, prefer_css_page_size=True, print_background=True)
    assert pdf.read_bytes().startswith(b"%PDF")
    shutil.copy(pdf, SHOTS / "08-plan-print.pdf")


def test_first_tab_focuses_the_skip_link(page, casal):
    log_in(page, casal.member, PLAN_PATH)
    page.goto(PLAN_PATH)  # a fresh load: focus starts at the top of the document
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).not_to_be_in_viewport()

    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    shoot(page, "09-skip-link")

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#content$"))
    expect(page.get_by_role("main")).to_be_focused()
