from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from actions.models import Action
from plans.models import Coalition


class Organisation(models.Model):
    """An organisation, a committee, or a collective entry such as "Tous" or "Coordo."."""

    class Kind(models.TextChoices):
        COMMUNITY = "community", _("Organisme communautaire")
        INSTITUTION = "institution", _("Institution")
        PUBLIC_BODY = "public_body", _("Organisme public")
        FUNDER = "funder", _("Bailleur de fonds")
        COMMITTEE = "committee", _("Comité")
        BUSINESS = "business", _("Entreprise")
        COORDINATION = "coordination", _("Coordination de la coalition")
        ALL_MEMBERS = "all_members", _("Tous les membres")
        GROUP = "group", _("Groupe d'organismes")
        NOT_SPECIFIED = "not_specified", pgettext_lazy("organisation kind", "Non précisé")

    name = models.CharField(_("nom"), max_length=200, unique=True)
    short_name = models.CharField(
        _("nom court"),
        max_length=60,
        blank=True,
        help_text=_("Sigle ou nom usuel, par exemple CSDL ou Coordo."),
    )
    kind = models.CharField(
        _("type"), max_length=20, choices=Kind.choices, default=Kind.NOT_SPECIFIED
    )
    coalition = models.ForeignKey(
        Coalition,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="organisations",
        verbose_name=_("coalition"),
        help_text=_("Pour la coordination ou « tous les membres » d'une coalition."),
    )
    notes = models.TextField(_("notes"), blank=True)

    # Shared: the coalitions it works with read it, all of them when it works with none
    # (access/coalitions.py).
    coalition_path = None
    access = "shared"
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("dashboard:organisation", args=[self.pk])


class ActionPartner(models.Model):
    """An organisation's part in an action, with the coalition's partner legend."""

    class Role(models.TextChoices):
        CARRIER = "carrier", _("Porteur")
        PARTNER = "partner", _("Partenaire")
        NOT_SPECIFIED = "not_specified", pgettext_lazy("partner role", "Non précisé")

    class Confirmation(models.TextChoices):
        CONFIRMED_MEMBER = "confirmed_member", _("Membre confirmé")
        MEMBER_TO_VALIDATE = "member_to_validate", _("Membre à valider")
        POTENTIAL = "potential", _("Collaborateur potentiel (à solliciter ou valider)")
        CONFIRMED_COLLABORATOR = "confirmed_collaborator", _("Collaborateur confirmé")
        DECLINED = "declined", _("A décliné")
        NOT_SPECIFIED = "not_specified", pgettext_lazy("confirmation", "Non précisé")

    # The legend of the adopted plan: (colour for the screen, the colour's name in words).
    LEGEND = {
        Confirmation.CONFIRMED_MEMBER: ("#1a1a1a", _("noir")),
        Confirmation.MEMBER_TO_VALIDATE: ("#7a2a8c", _("mauve")),
        Confirmation.POTENTIAL: ("#b3261e", _("rouge")),
        Confirmation.CONFIRMED_COLLABORATOR: ("#1c58a8", _("bleu")),
        Confirmation.DECLINED: ("#6b6b6b", _("gris barré")),
        Confirmation.NOT_SPECIFIED: ("#6b6b6b", _("gris")),
    }

    action = models.ForeignKey(
        Action, models.CASCADE, related_name="partner_links", verbose_name=_("action")
    )
    organisation = models.ForeignKey(
        Organisation,
        models.PROTECT,
        related_name="action_links",
        verbose_name=_("organisation"),
    )
    role = models.CharField(
        _("rôle"), max_length=20, choices=Role.choices, default=Role.NOT_SPECIFIED
    )
    confirmation = models.CharField(
        _("confirmation"),
        max_length=30,
        choices=Confirmation.choices,
        default=Confirmation.NOT_SPECIFIED,
    )
    label_in_source = models.CharField(
        _("tel qu'écrit"),
        max_length=200,
        blank=True,
        help_text=_("Le nom tel qu'il apparaît dans la cellule du document."),
    )
    last_contact = models.DateField(_("dernier contact"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(_("ordre"), default=0)

    coalition_path = "action__plan__coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["action_id", "order", "id"]
        verbose_name = _("porteur ou partenaire")
        verbose_name_plural = _("porteurs et partenaires")
        constraints = [
            models.UniqueConstraint(
                fields=["action", "organisation"],
                name="actionpartner_unique_organisation_per_action",
                violation_error_message=_("Cette organisation est déjà liée à cette action."),
            ),
        ]

    def __str__(self):
        return f"{self.organisation} ({self.get_confirmation_display()})"

    @classmethod
    def legend_entries(cls):
        """(value, label, colour, colour name) for each confirmation, in legend order."""
        return [(c.value, c.label, *cls.LEGEND[c]) for c in cls.Confirmation]

    @property
    def colour(self):
        return self.LEGEND[self.confirmation][0]

    @property
    def colour_name(self):
        return self.LEGEND[self.confirmation][1]
