"""{{ inline_admin_form|tabular_cells }}: a tabular inline row's cells, drawn in Python
(backoffice/rendering.py), for backoffice/templates/admin/edit_inline/plan_data_tabular.html."""

from django import template

from backoffice import rendering

register = template.Library()
register.filter("tabular_cells", rendering.tabular_cells, is_safe=True)
