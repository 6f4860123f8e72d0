"""The back-office's form renderer: Django's own, with its smallest and most used templates
(an input, a select and its options, an empty error list) written in Python.

An action's form draws some 120 widgets (each row of its partners and targets has ten), and
the action list a checkbox per row: through the template engine each costs 0.2 to 0.5 ms, most
of it in the `attrs.html` include. The HTML is the same byte for byte
(tests/backoffice/test_rendering.py compares both ways for every widget the admin draws); a
template that is not one of these, or that the project overrides, goes through the templates
as before."""

from django.forms.renderers import DjangoTemplates
from django.template.defaultfilters import stringformat
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

INPUT = "django/forms/widgets/input.html"
# The widgets whose template is nothing but `{% include "…/input.html" %}` (Django 5.2).
INPUT_ALIASES = {
    f"django/forms/widgets/{name}.html"
    for name in [
        *("hidden", "text", "number", "date", "time", "datetime", "checkbox", "email"),
        *("url", "password", "search", "tel", "color"),
    ]
}
# Checkboxes and radio buttons: the list of options, and each option (a labelled input).
MULTIPLE = {
    f"django/forms/widgets/{name}.html" for name in ("multiple_input", "checkbox_select", "radio")
}
INPUT_OPTIONS = {
    f"django/forms/widgets/{name}.html"
    for name in ("input_option", "checkbox_option", "radio_option")
}
SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"
ERRORS_UL = "django/forms/errors/list/ul.html"


def shown(value):
    """`{{ value }}` as the template engine writes it: localized, escaped unless safe."""
    return conditional_escape(localize(value))


def as_string(value):
    """`{{ value|stringformat:'s' }}`."""
    return conditional_escape(stringformat(value, "s"))


def attrs_html(attrs):
    """django/forms/widgets/attrs.html."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(f" {shown(name)}")
        if value is not True:
            parts.append(f'="{as_string(value)}"')
    return "".join(parts)


def input_html(widget):
    value = "" if widget["value"] is None else f' value="{as_string(widget["value"])}"'
    return (
        f'<input type="{shown(widget["type"])}" name="{shown(widget["name"])}"{value}'
        f"{attrs_html(widget['attrs'])}>"
    )


def option_html(option):
    return (
        f'<option value="{as_string(option["value"])}"{attrs_html(option["attrs"])}>'
        f"{shown(option['label'])}</option>"
    )


def select_html(widget):
    parts = [f'<select name="{shown(widget["name"])}"{attrs_html(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{shown(group_name)}">')
        for option in group_choices:
            if option["template_name"] != OPTION:
                return None  # another option template: the engine draws the whole select
            # The option's template ends with a line break, which its include keeps.
            parts.append(f"\n  {option_html(option)}\n")
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def input_option_html(option):
    """input_option.html, as included: the input keeps input.html's closing line break."""
    label_for = option["attrs"].get("id")
    wrap = option.get("wrap_label")
    opening = (f'<label for="{shown(label_for)}">' if label_for else "<label>") if wrap else ""
    closing = f" {shown(option['label'])}</label>" if wrap else ""
    return f"{opening}{input_html(option)}\n{closing}\n"


def multiple_html(widget):
    """multiple_input.html (checkbox_select.html, radio.html)."""
    element_id, css_class = widget["attrs"].get("id"), widget["attrs"].get("class")
    parts = [
        "<div",
        f' id="{shown(element_id)}"' if element_id else "",
        f' class="{shown(css_class)}"' if css_class else "",
        ">",
    ]
    for group, options, _index in widget["optgroups"]:
        if group:
            parts.append(f"\n  <div><label>{shown(group)}</label>")
        for option in options:
            if option["template_name"] not in INPUT_OPTIONS:
                return None
            # checkbox_option.html and radio_option.html add their own line break.
            extra = "" if option["template_name"].endswith("/input_option.html") else "\n"
            parts.append(f"<div>\n    {input_option_html(option)}{extra}</div>")
        if group:
            parts.append("\n  </div>")
    parts.append("\n</div>")
    return "".join(parts)


class BackOfficeRenderer(DjangoTemplates):
    """Draws the commonest widgets without the template engine; the rest with it."""

    def render(self, template_name, context, request=None):
        html = self.render_fast(template_name, context)
        if html is None:
            return super().render(template_name, context, request=request)
        return SafeString(html)

    @staticmethod
    def render_fast(template_name, context):
        """The template's HTML, or None when it has no Python twin here."""
        if template_name == INPUT or template_name in INPUT_ALIASES:
            return input_html(context["widget"])
        if template_name == SELECT:
            return select_html(context["widget"])
        if template_name == OPTION:
            return option_html(context["widget"])
        if template_name in MULTIPLE:
            return multiple_html(context["widget"])
        if template_name == ERRORS_UL and not context.get("errors"):
            return ""  # `{% if errors %}…{% endif %}`, for every field without an error
        return None


RENDERER = BackOfficeRenderer()


def tabular_cells(inline_admin_form):
    """The cells of one row of a tabular inline, as Django's tabular.html writes them (its
    three nested loops, whitespace included): an action's form has nine rows of ten cells,
    and each cell costs the template engine a dozen lookups."""
    fieldsets = []
    for fieldset in inline_admin_form:
        lines = []
        for line in fieldset:
            cells = []
            for field in line:
                cells.append(
                    f'\n              <td class="{cell_class(field)}">\n              '
                    f"{cell_content(field)}\n              </td>\n            "
                )
            lines.append(f"\n            {''.join(cells)}\n          ")
        fieldsets.append(f"\n          {''.join(lines)}\n        ")
    return SafeString("".join(fieldsets))


def cell_class(field):
    # A read-only field's `field` is a dict (its name, label…), an editable one's a BoundField.
    bound = field.field
    name = bound.get("name") if isinstance(bound, dict) else bound.name
    hidden = False if isinstance(bound, dict) else bound.is_hidden
    return f"{f'field-{shown(name)}' if name else ''}{' hidden' if hidden else ''}"


def cell_content(field):
    if field.is_readonly:
        return f"\n                  <p>{shown(field.contents())}</p>\n              "
    bound = field.field
    errors, widget = shown(bound.errors.as_ul()), shown(bound)
    return f"\n                  {errors}\n                  {widget}\n              "


def nl(indent):
    return "\n" + " " * indent


def fieldset_html(fieldset, heading_level=None, prefix="", id_prefix="", id_suffix=""):
    """Django 5.2's admin/includes/fieldset.html (the form's fieldsets), whitespace
    included: templates/admin/includes/fieldset.html calls it."""
    name, collapsible = fieldset.name, fieldset.is_collapsible
    heading_id = f"{shown(prefix)}-{shown(id_prefix)}-{shown(id_suffix)}-heading"
    labelled = f' aria-labelledby="{heading_id}"' if name else ""
    parts = [f'<fieldset class="module aligned {shown(fieldset.classes)}"{labelled}>', nl(4)]
    if name:
        level = shown(heading_level or 2)
        parts += [
            nl(8),
            "<details><summary>" if collapsible else "",
            nl(8),
            f'<h{level} id="{heading_id}" class="fieldset-heading">{shown(name)}</h{level}>',
            nl(8),
            "</summary>" if collapsible else "",
            nl(4),
        ]
    parts.append(nl(4))
    if fieldset.description:
        parts += [nl(8), f'<div class="description">{fieldset.description}</div>', nl(4)]
    parts.append(nl(4))
    for line in fieldset:
        parts.append(fieldline_html(line))
    # The template's own closing line break follows (templates/admin/includes/fieldset.html).
    parts += [nl(4), "</details>" if name and collapsible else "", "\n</fieldset>"]
    return SafeString("".join(parts))


def fieldline_html(line):
    single = len(line.fields) == 1
    fields = list(line)
    errors = line.errors() if single else ""
    names = "".join(f" field-{shown(n)}" for n in (field_name(field) for field in fields) if n)
    row_class = (
        f"form-row{' errors' if single and errors else ''}"
        f"{'' if line.has_visible_field else ' hidden'}{names}"
    )
    parts = [
        nl(8),
        f'<div class="{row_class}">',
        nl(12),
        shown(errors) if single else '<div class="flex-container form-multiline">',
        nl(12),
    ]
    for field in fields:
        parts.append(field_html(field, single))
    parts += [nl(12), "" if single else "</div>", nl(8), "</div>", nl(4)]
    return "".join(parts)


def field_name(field):
    bound = field.field
    return bound.get("name") if isinstance(bound, dict) else bound.name


def field_html(field, single):
    bound, readonly = field.field, field.is_readonly
    # A read-only field's `field` is a dict: no is_hidden, id_for_label (the template's "").
    is_dict = isinstance(bound, dict)
    hidden = False if is_dict else bound.is_hidden
    errors = "" if single or readonly else field.errors()
    box = ""
    if not single:
        name = field_name(field)
        box = (
            f" fieldBox{f' field-{shown(name)}' if name else ''}"
            f"{' errors' if not readonly and errors else ''}{' hidden' if hidden else ''}"
        )
    box += " checkbox-row" if field.is_checkbox else ""
    if field.is_checkbox:
        inner = f"{nl(32)}{shown(bound)}{shown(field.label_tag())}{nl(28)}"
    else:
        shown_value = (
            f'{nl(36)}<div class="readonly">{shown(field.contents())}</div>{nl(32)}'
            if readonly
            else f"{nl(36)}{shown(bound)}{nl(32)}"
        )
        inner = f"{nl(32)}{shown(field.label_tag())}{nl(32)}{shown_value}{nl(28)}"
    help_text = bound.get("help_text") if is_dict else bound.help_text
    help_html = ""
    if help_text:
        id_for_label = None if is_dict else bound.id_for_label
        help_id = f' id="{shown(id_for_label)}_helptext"' if id_for_label else ""
        help_html = (
            f'{nl(24)}<div class="help{" hidden" if hidden else ""}"{help_id}>'
            f"{nl(28)}<div>{help_text}</div>{nl(24)}</div>{nl(20)}"
        )
    return (
        f"{nl(16)}<div>{nl(20)}{shown(errors) if errors else ''}{nl(24)}"
        f'<div class="flex-container{box}">{nl(28)}{inner}{nl(24)}</div>'
        f"{nl(20)}{help_html}{nl(16)}</div>{nl(12)}"
    )
