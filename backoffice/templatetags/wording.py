"""The back-office's sentences in the admin templates: {% wording opts "add" as title %} gives
backoffice/wording.py's ADD for the model, or "" for a model outside the plan data (the
template then keeps Django's own)."""

from django import template

from backoffice import wording as phrases
from backoffice.wording import Noun

register = template.Library()


@register.simple_tag
def wording(opts, phrase, **values):
    noun = Noun.of(opts.model)
    return noun.say(getattr(phrases, phrase.upper()), **values) if noun else ""
