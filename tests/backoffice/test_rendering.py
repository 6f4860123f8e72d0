"""The back-office's faster drawing (backoffice/rendering.py and the memos of the action
list) changes no byte of the pages: each page is compared with itself drawn the slow way,
every widget, row and cell through Django's own templates."""

import datetime
import difflib
import re
from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.urls import reverse
from django.utils.safestring import mark_safe

from actions.models import Action
from backoffice import rendering
from backoffice.admin import PlanDataInline
from partners.models import ActionPartner
from tests.factories import ActionPartnerFactory, TargetFactory, ThemeFactory, build_plan
from tests.helpers import change_form_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("coordinator_of_every_coalition")]

DJANGO = DjangoTemplates()


class EveryWidget(forms.Form):
    """A field of each widget the renderer draws itself, with the values that are easy to
    get wrong: none, empty, escaped, safe, numbers, dates, booleans in attrs."""

    text = forms.CharField(widget=forms.TextInput(attrs={"aria-label": 'Dit "oui" & <non>'}))
    number = forms.DecimalField(widget=forms.NumberInput(attrs={"step": "any", "min": 0}))
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    hidden = forms.CharField(widget=forms.HiddenInput)
    boxed = forms.BooleanField(widget=forms.CheckboxInput(attrs={"disabled": True}))
    email = forms.EmailField(widget=forms.EmailInput(attrs={"required": False}))
    choice = forms.ChoiceField(
        choices=[("", "---------"), ("a", "A & b"), (3, 1234), ("<x>", mark_safe("<b>safe</b>"))]
    )
    grouped = forms.ChoiceField(
        choices=[("Groupe « un »", [("1", "un"), ("2", "deux")]), ("3", "trois")]
    )
    many = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")])
    boxes = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple(attrs={"class": "inline"}),
        choices=[("a", "A & b"), ("Groupe", [("b", "B"), ("c", "C")])],
    )
    radios = forms.ChoiceField(widget=forms.RadioSelect, choices=[("x", "X"), ("y", "Y")])


VALUES = [
    {},
    {
        "text": "l'été <b>",
        "number": Decimal("1234.50"),
        "date": datetime.date(2026, 4, 1),
        "hidden": mark_safe("&amp;"),
        "boxed": True,
        "email": "",
        "choice": 3,
        "grouped": "2",
        "many": ["a", "b"],
        "boxes": ["a", "c"],
        "radios": "y",
    },
]


@pytest.mark.parametrize("initial", VALUES)
@pytest.mark.parametrize("bound", [False, True])
def test_every_widget_is_drawn_as_django_draws_it(initial, bound):
    data = {name: str(value) for name, value in initial.items() if not isinstance(value, list)}

    def drawn(renderer):
        form = EveryWidget(data if bound else None, initial=initial, renderer=renderer)
        # The whole form: its labels, each widget, and (bound) its error lists, empty or not.
        return str(form), [str(form[name]) for name in form.fields]

    assert drawn(rendering.RENDERER) == drawn(DJANGO)
    if bound:
        assert 'class="errorlist"' in drawn(DJANGO)[0]


def test_an_option_template_it_does_not_know_goes_through_the_templates():
    class Special(forms.Select):
        option_template_name = "django/forms/widgets/input_option.html"

    widget = Special(choices=[("a", "A")])

    assert widget.render("x", "a", renderer=rendering.RENDERER) == widget.render(
        "x", "a", renderer=DJANGO
    )


# --- Whole pages: drawn the fast way and the slow way, the same bytes --------------------------


@pytest.fixture
def slow(monkeypatch):
    """Switches the page back to Django's own drawing: every widget through its template,
    the inline rows through Django's tabular.html, no memo in the list."""

    def switch():
        monkeypatch.setattr(rendering.BackOfficeRenderer, "render_fast", lambda *args: None)
        monkeypatch.setattr(PlanDataInline, "template", "admin/edit_inline/tabular.html")
        monkeypatch.setattr("actions.admin.ActionChangeList.get_results", slow_results)
        monkeypatch.setattr(
            "partners.admin.ActionChangeListWithPartners.get_results", slow_results
        )
        monkeypatch.setattr("actions.admin.ActionChangeList.url_for_result", slow_url)

    return switch


def slow_results(self, request):
    from django.contrib.admin.views.main import ChangeList

    ChangeList.get_results(self, request)


def slow_url(self, result):
    from django.contrib.admin.views.main import ChangeList

    return ChangeList.url_for_result(self, result)


def same_page(client, slow, url, data=None):
    """The page's HTML drawn both ways (the form's token aside), and the fast one."""
    get = (lambda: client.post(url, data)) if data is not None else (lambda: client.get(url))
    # Once first: the inline forms' naming of their widgets reaches the form's shared version
    # field from the second page on (backoffice/admin.py, name_widgets), both ways alike.
    get()
    fast = get()
    slow()
    drawn_slowly = get()
    assert fast.status_code == drawn_slowly.status_code
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
    page, slow_page = (token.sub("", r.content.decode()) for r in (fast, drawn_slowly))
    differences = list(difflib.unified_diff(slow_page.splitlines(), page.splitlines(), n=1))
    assert not differences, "\n".join(differences[:40])
    return page


@pytest.fixture
def plan():
    plan, (action, *_others) = build_plan(actions=12, partners_per_action=3)
    # Every colour of the legend, a long title, and a theme: what the rows draw differently.
    for confirmation in ActionPartner.Confirmation.values:
        ActionPartnerFactory(action=action, confirmation=confirmation)
    action.title = "Une action au titre très long, " * 5
    action.save()
    action.themes.add(ThemeFactory())
    TargetFactory(action=action)
    return plan


def test_the_action_form_is_the_same_page(coordinator_client, slow, plan):
    action = plan.actions.order_by("code").first()

    page = same_page(
        coordinator_client, slow, reverse("admin:actions_action_change", args=[action.pk])
    )

    assert 'class="partner-chip confirmation-declined"' in page
    assert page.count('name="partner_links-') > 20


def test_the_action_form_with_errors_is_the_same_page(coordinator_client, slow, plan):
    action = plan.actions.order_by("code").first()
    url = reverse("admin:actions_action_change", args=[action.pk])
    data = change_form_data(coordinator_client.get(url))
    data["code"] = ""  # an error in the form's fieldset…
    data["targets-0-kind"] = "nope"  # …and one in an inline row's cell

    page = same_page(coordinator_client, slow, url, data)

    assert page.count('class="errorlist') >= 2


@pytest.mark.parametrize("query", ["", "?plan__id__exact={plan}", "?o=-4"])
def test_the_action_list_is_the_same_page(coordinator_client, slow, plan, query):
    url = reverse("admin:actions_action_changelist") + query.format(plan=plan.pk)

    page = same_page(coordinator_client, slow, url)

    assert page.count('class="action-select"') == Action.objects.count()
    assert "partner-chip confirmation-potential" in page


class Layout(forms.Form):
    first = forms.CharField(help_text="Aide <i>sûre</i>")
    second = forms.IntegerField()
    box = forms.BooleanField(required=False)
    secret = forms.CharField(widget=forms.HiddenInput, required=False)


FIELDSETS = [
    (None, {"fields": [("first", "second"), "box", "secret"]}),
    ("Détails & co", {"fields": ["first"], "classes": ["collapse"], "description": "<b>Lu</b>"}),
    ("Seul", {"fields": [("box", "second")]}),
]


@pytest.mark.parametrize("data", [None, {"first": "", "second": "x"}])
@pytest.mark.parametrize("heading_level", [None, 4])
def test_every_kind_of_fieldset_is_drawn_as_django_draws_it(data, heading_level):
    """Lines of several fields, checkboxes, help, errors, a hidden field, a folded fieldset
    with a description: what the action form does not show, Django's template does."""
    from pathlib import Path

    import django.contrib.admin
    from django.contrib.admin import helpers
    from django.template import Context, Template

    template = (
        Path(django.contrib.admin.__file__).parent / "templates/admin/includes/fieldset.html"
    )
    django_fieldset = Template(template.read_text())
    form = Layout(data, renderer=DJANGO)
    for index, fieldset in enumerate(helpers.AdminForm(form, FIELDSETS, {})):
        values = {"prefix": "fieldset", "id_prefix": 0, "id_suffix": index}
        slow = django_fieldset.render(
            Context({"fieldset": fieldset, "heading_level": heading_level, **values})
        )
        fast = rendering.fieldset_html(fieldset, heading_level=heading_level, **values)
        assert fast + "\n" == slow
