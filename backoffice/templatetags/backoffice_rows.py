"""{{ inline_admin_form|tabular_cells }}: a tabular inline row's cells, drawn in Python
(backoffice/rendering.py), for backoffice/templates/admin/edit_inline/plan_data_tabular.html."""

from django import template

from backoffice import rendering

register = template.Library()
register.filter("tabular_cells", rendering.tabular_cells, is_safe=True)


@register.simple_tag(takes_context=True)
def admin_fieldset(context):
    """Django's admin/includes/fieldset.html, drawn in Python (backoffice/rendering.py)."""
    return rendering.fieldset_html(
        context["fieldset"],
        heading_level=context.get("heading_level"),
        prefix=context.get("prefix", ""),
        id_prefix=context.get("id_prefix", ""),
        id_suffix=context.get("id_suffix", ""),
    )
