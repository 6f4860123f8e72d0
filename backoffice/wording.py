"""How the back-office speaks of each kind of plan data: French sentences that agree with the
noun (« Ajouter une action », « L'objectif « 1 » a été modifié. »), English through the
catalogue ("Add action", "The objective “1” was changed.").

Django's admin builds its sentences from one generic French phrase per message (« Ajout de
action », « L'objet action … a été modifié avec succès »). Here each model says its gender
once (GENDERS) and every sentence is written out in full for each agreement; elision (« l' »)
is read from the French noun. PlanDataAdmin and PlanDataInline (backoffice/admin.py) and the
admin templates ({% load wording %}) use it. Messages that Django builds without the model
(the selection counter, the list's save count) are made neutral in locale/fr instead.
"""

from dataclasses import dataclass

from django.utils import translation
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

FEMININE, MASCULINE = "f", "m"

# The French gender of each plan-data model's name (its Meta.verbose_name). A model missing
# here keeps Django's generic wording; tests/backoffice/test_wording.py checks none is missing.
GENDERS = {
    "plans.coalition": FEMININE,
    "plans.membership": MASCULINE,  # « membre »
    "plans.plan": MASCULINE,
    "plans.period": FEMININE,
    "plans.theme": MASCULINE,
    "plans.objective": MASCULINE,
    "plans.subobjective": MASCULINE,
    "plans.assembly": FEMININE,
    "plans.review": MASCULINE,  # « bilan »
    "plans.reviewmeeting": FEMININE,  # « rencontre »
    "plans.reviewfunding": MASCULINE,
    "plans.reviewstaff": FEMININE,  # « ressource humaine »
    "plans.reviewitem": MASCULINE,
    "actions.action": FEMININE,
    "actions.target": FEMININE,  # « cible »
    "actions.targetvalue": FEMININE,
    "actions.progressnote": FEMININE,
    "partners.organisation": FEMININE,
    "partners.actionpartner": MASCULINE,  # « porteur ou partenaire »
}

# The plural inside a sentence, where the model's plural is a heading of the plan's table
# (« Cibles et résultats attendus ») that would not agree with the sentence.
PLURALS = {
    "actions.target": _("cibles"),
}

VOWELS = "aeiouyàâäéèêëîïôöùûü"


@dataclass(frozen=True)
class Phrase:
    """One sentence written for each agreement of its noun; the elided forms default to the
    plain ones (« Ajouter une » never elides)."""

    masculine: str
    feminine: str
    masculine_elided: str = None
    feminine_elided: str = None

    def pick(self, noun):
        if noun.feminine:
            return (noun.elided and self.feminine_elided) or self.feminine
        return (noun.elided and self.masculine_elided) or self.masculine


# %(name)s is the model's name, %(names)s its plural, %(obj)s the object as it reads.
ADD = Phrase(_("Ajouter un %(name)s"), _("Ajouter une %(name)s"))
ADD_ROW = Phrase(
    pgettext_lazy("inline row", "Ajouter un %(name)s"),
    pgettext_lazy("inline row", "Ajouter une %(name)s"),
)
CHANGE = Phrase(
    _("Modifier le %(name)s"),
    _("Modifier la %(name)s"),
    _("Modifier l'%(name)s"),
    _("Modifier l'%(name)s"),
)
VIEW = Phrase(
    _("Consulter le %(name)s"),
    _("Consulter la %(name)s"),
    _("Consulter l'%(name)s"),
    _("Consulter l'%(name)s"),
)
CHOOSE_TO_CHANGE = Phrase(
    _("Choisir un %(name)s à modifier"), _("Choisir une %(name)s à modifier")
)
CHOOSE_TO_VIEW = Phrase(
    _("Choisir un %(name)s à consulter"), _("Choisir une %(name)s à consulter")
)
CHOOSE = Phrase(_("Choisir un %(name)s"), _("Choisir une %(name)s"))
DELETE = Phrase(
    _("Supprimer le %(name)s"),
    _("Supprimer la %(name)s"),
    _("Supprimer l'%(name)s"),
    _("Supprimer l'%(name)s"),
)
CANNOT_DELETE = Phrase(
    _("Impossible de supprimer le %(name)s"),
    _("Impossible de supprimer la %(name)s"),
    _("Impossible de supprimer l'%(name)s"),
    _("Impossible de supprimer l'%(name)s"),
)
DELETE_QUESTION = Phrase(
    _(
        "Voulez-vous vraiment supprimer le %(name)s « %(obj)s » ? Ce qui suit en dépend et "
        "sera supprimé avec lui :"
    ),
    _(
        "Voulez-vous vraiment supprimer la %(name)s « %(obj)s » ? Ce qui suit en dépend et "
        "sera supprimé avec elle :"
    ),
    _(
        "Voulez-vous vraiment supprimer l'%(name)s « %(obj)s » ? Ce qui suit en dépend et "
        "sera supprimé avec lui :"
    ),
    _(
        "Voulez-vous vraiment supprimer l'%(name)s « %(obj)s » ? Ce qui suit en dépend et "
        "sera supprimé avec elle :"
    ),
)
DELETE_FORBIDDEN = Phrase(
    _(
        "Supprimer le %(name)s « %(obj)s » supprimerait aussi ce qui suit, que votre compte n'a "
        "pas le droit de supprimer :"
    ),
    _(
        "Supprimer la %(name)s « %(obj)s » supprimerait aussi ce qui suit, que votre compte n'a "
        "pas le droit de supprimer :"
    ),
    _(
        "Supprimer l'%(name)s « %(obj)s » supprimerait aussi ce qui suit, que votre compte n'a "
        "pas le droit de supprimer :"
    ),
)
DELETE_PROTECTED = Phrase(
    _("Le %(name)s « %(obj)s » ne peut pas être supprimé : ce qui suit en dépend."),
    _("La %(name)s « %(obj)s » ne peut pas être supprimée : ce qui suit en dépend."),
    _("L'%(name)s « %(obj)s » ne peut pas être supprimé : ce qui suit en dépend."),
    _("L'%(name)s « %(obj)s » ne peut pas être supprimée : ce qui suit en dépend."),
)
DELETE_SELECTED = Phrase(
    _("Supprimer les %(names)s sélectionnés"), _("Supprimer les %(names)s sélectionnées")
)
DELETE_SELECTED_QUESTION = Phrase(
    _(
        "Voulez-vous vraiment supprimer les %(names)s sélectionnés ? Ils seront supprimés avec "
        "ce qui en dépend :"
    ),
    _(
        "Voulez-vous vraiment supprimer les %(names)s sélectionnées ? Elles seront supprimées "
        "avec ce qui en dépend :"
    ),
)
DELETE_SELECTED_FORBIDDEN = Phrase(
    _(
        "Supprimer les %(names)s sélectionnés supprimerait aussi ce qui suit, que votre compte "
        "n'a pas le droit de supprimer :"
    ),
    _(
        "Supprimer les %(names)s sélectionnées supprimerait aussi ce qui suit, que votre compte "
        "n'a pas le droit de supprimer :"
    ),
)
DELETE_SELECTED_PROTECTED = Phrase(
    _("Les %(names)s sélectionnés ne peuvent pas être supprimés : ce qui suit en dépend."),
    _("Les %(names)s sélectionnées ne peuvent pas être supprimées : ce qui suit en dépend."),
)
ADDED = Phrase(
    _("Le %(name)s « %(obj)s » a été ajouté."),
    _("La %(name)s « %(obj)s » a été ajoutée."),
    _("L'%(name)s « %(obj)s » a été ajouté."),
    _("L'%(name)s « %(obj)s » a été ajoutée."),
)
CHANGED = Phrase(
    _("Le %(name)s « %(obj)s » a été modifié."),
    _("La %(name)s « %(obj)s » a été modifiée."),
    _("L'%(name)s « %(obj)s » a été modifié."),
    _("L'%(name)s « %(obj)s » a été modifiée."),
)
DELETED = Phrase(
    _("Le %(name)s « %(obj)s » a été supprimé."),
    _("La %(name)s « %(obj)s » a été supprimée."),
    _("L'%(name)s « %(obj)s » a été supprimé."),
    _("L'%(name)s « %(obj)s » a été supprimée."),
)
EDIT_AGAIN = Phrase(
    _("Vous pouvez le modifier de nouveau ci-dessous."),
    _("Vous pouvez la modifier de nouveau ci-dessous."),
)
ADD_ANOTHER_BELOW = Phrase(
    _("Vous pouvez ajouter un autre %(name)s ci-dessous."),
    _("Vous pouvez ajouter une autre %(name)s ci-dessous."),
)
SAVE_AND_ADD_ANOTHER = Phrase(
    _("Enregistrer et en ajouter un autre"), _("Enregistrer et en ajouter une autre")
)
NOT_FOUND = Phrase(
    _("Le %(name)s n° %(key)s n'existe pas ou plus : il a peut-être été supprimé."),
    _("La %(name)s n° %(key)s n'existe pas ou plus : elle a peut-être été supprimée."),
    _("L'%(name)s n° %(key)s n'existe pas ou plus : il a peut-être été supprimé."),
    _("L'%(name)s n° %(key)s n'existe pas ou plus : elle a peut-être été supprimée."),
)
HISTORY = Phrase(
    _("Historique du %(name)s « %(obj)s »"),
    _("Historique de la %(name)s « %(obj)s »"),
    _("Historique de l'%(name)s « %(obj)s »"),
    _("Historique de l'%(name)s « %(obj)s »"),
)
REVERT = Phrase(
    _("Rétablir une version du %(name)s « %(obj)s »"),
    _("Rétablir une version de la %(name)s « %(obj)s »"),
    _("Rétablir une version de l'%(name)s « %(obj)s »"),
    _("Rétablir une version de l'%(name)s « %(obj)s »"),
)
OLD_VERSION = Phrase(
    _("Ancienne version du %(name)s « %(obj)s »"),
    _("Ancienne version de la %(name)s « %(obj)s »"),
    _("Ancienne version de l'%(name)s « %(obj)s »"),
    _("Ancienne version de l'%(name)s « %(obj)s »"),
)


class Noun:
    """A model's name with what the sentences agree with."""

    def __init__(self, model):
        self.opts = model._meta
        self.feminine = GENDERS[self.opts.label_lower] == FEMININE
        with translation.override("fr"):
            self.elided = str(self.opts.verbose_name)[:1].lower() in VOWELS
        self.plural = PLURALS.get(self.opts.label_lower, self.opts.verbose_name_plural)

    @classmethod
    def of(cls, model):
        """The model's noun, or None for a model outside the plan data (Django's wording)."""
        return cls(model) if model._meta.label_lower in GENDERS else None

    def say(self, phrase, **values):
        return str(phrase.pick(self)) % {
            "name": self.opts.verbose_name,
            "names": self.plural,
            **values,
        }

    def say_html(self, phrase, **values):
        """`say`, for a message that links its object: the values are escaped unless safe."""
        values = {
            "name": self.opts.verbose_name,
            "names": self.plural,
            **values,
        }
        escaped = {key: conditional_escape(value) for key, value in values.items()}
        return mark_safe(escape(str(phrase.pick(self))) % escaped)
