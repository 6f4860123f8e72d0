"""What every write of plan data shares, whichever app's service makes it.

The history of each plan-data model names who made each change: inside a request the
middleware knows, but the imports, the demo data, the trash and the tests write outside
one, so every service names the author itself, here, in one way.
"""


def set_author(obj, *, user, reason=None):
    """Names `user` (and `reason`, when given) in the history record of `obj`'s next change:
    its next save, or a change of one of its many-to-many fields."""
    obj._history_user = user
    if reason:
        obj._change_reason = reason  # shown in the admin's history
    return obj


def save_with_author(obj, *, user, reason=None, **save_kwargs):
    """Saves `obj` (with Model.save's `save_kwargs`) and names `user`, and `reason` when
    given, in the history record the save writes. Validating is the caller's: a service
    validates what it is about before it saves."""
    set_author(obj, user=user, reason=reason)
    obj.save(**save_kwargs)
    return obj
