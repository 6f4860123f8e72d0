"""The admin's side of access: every plan-data ModelAdmin and inline reaches the coalitions
its user may change, and nothing else (the rule itself: access/coalitions.py)."""

from access.coalitions import in_scope, is_province_wide, scoped


class CoalitionScopedAdmin:
    """Mixed into every plan-data ModelAdmin and inline: lists, forms, choices, history and
    revert only reach the coalitions of the person logged in.

    For an inline, `obj` in the permission methods is the parent object, so the parent's
    coalition decides."""

    def get_queryset(self, request):
        return scoped(request.user, super().get_queryset(request))

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and in_scope(request.user, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self.may_change(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self.may_change(request, obj)

    def has_add_permission(self, request, *args):
        # Inlines receive the parent object; model admins receive nothing more.
        parent = args[0] if args else None
        return super().has_add_permission(request, *args) and self.may_change(request, parent)

    def may_change(self, request, obj):
        if is_province_wide(self.model):
            return request.user.is_superuser
        return in_scope(request.user, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scoped(request.user, field.queryset)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scoped(request.user, field.queryset)
        return field
