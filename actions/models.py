from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.lookups import LessThan
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from actions.history import HistoricalRecordsBothEnds
from plans import formats
from plans.models import Period, Plan, SubObjective, Theme

CODE_PATTERN = r"^[0-9]+(\.[0-9]+)*$"
code_validator = RegexValidator(
    CODE_PATTERN,
    _("Le code doit être formé de nombres séparés par des points, par exemple 1.2.3."),
)


def code_sort_key(code):
    """'1.10.2' -> '0001.0010.0002', so that 1.10 sorts after 1.9 in any database."""
    return ".".join(f"{int(part):04d}" for part in code.split("."))


def last_period_end():
    """The end of the action's last scheduled period, or NULL without a schedule."""
    ends = Period.objects.filter(actions=OuterRef("pk")).order_by("-end").values("end")
    return Subquery(ends[:1])


def late_condition(today=None):
    """THE rule of lateness, which every page, report and workbook reads through late(),
    with_late() or summary(): open (neither done nor abandoned), not postponed while awaiting
    a new date, and the last period of its schedule (the new one, for an action postponed to
    new periods) ended before `today`.

    A correlated subquery per action rather than a MAX over a join or an EXISTS: a join groups
    the list's rows, and PostgreSQL answers NOT EXISTS inside a CASE or a FILTER by hashing
    every action's schedule. This way each action costs an index lookup into its own schedule,
    whatever the number of other actions in the database."""
    today = today or timezone.localdate()
    return (
        Q(LessThan(last_period_end(), today))
        & ~Q(status__in=Action.CLOSED_STATUSES)
        & Q(awaiting_date=False)
    )


class ActionQuerySet(models.QuerySet):
    def late(self, today=None):
        """Actions whose last scheduled period has ended while they are still open (and not
        postponed awaiting a new date): late_condition()."""
        return self.filter(late_condition(today))

    def with_late(self, today=None):
        """Annotate `is_late`, the same rule as late(), for lists that show every action."""
        # A CASE, not the bare condition: without a schedule the comparison is NULL, not False.
        return self.annotate(
            is_late=Case(
                When(late_condition(today), then=Value(True)),
                default=Value(False),
                output_field=models.BooleanField(),
            )
        )

    def with_progress(self):
        """Annotate `progress` (0-100), the rule of Action.IMPLIED_PROGRESS: a done action
        100, an abandoned one none (roll-ups leave it out), any other the completion typed in,
        else what its status implies (an action in progress 50)."""
        return self.annotate(
            progress=Case(
                *[
                    When(status=status, then=Value(Action.IMPLIED_PROGRESS[status]))
                    for status in Action.PROGRESS_SET_BY_STATUS
                ],
                When(completion__isnull=False, then=F("completion")),
                *[
                    When(status=status, then=Value(progress))
                    for status, progress in Action.IMPLIED_PROGRESS.items()
                    if status not in Action.PROGRESS_SET_BY_STATUS
                ],
                default=Value(None),
                output_field=models.PositiveSmallIntegerField(),
            )
        )

    def next_code(self, sub_objective):
        """The code to propose for a new action of `sub_objective`: one past the highest
        action number under it (1.2.1–1.2.3 → 1.2.4; none yet → 1.2.1).

        One past the highest, not the first gap: a deleted 1.2.2 may come back from the
        trash, and the plan's documents may still cite it. Every action of the plan is read,
        whatever its sub-objective, since the code is unique in the whole plan."""
        prefix = f"{sub_objective.code}."
        codes = self.model._base_manager.filter(
            plan_id=sub_objective.objective.plan_id, code__startswith=prefix
        ).values_list("code", flat=True)
        numbers = [int(rest) for rest in (c.removeprefix(prefix) for c in codes) if rest.isdigit()]
        return f"{prefix}{max(numbers, default=0) + 1}"

    def summary(self, *group_by, today=None):
        """Rows of action count, average progress (with_progress()'s rule), how many of
        those count with a typed completion, late count and a count per status
        (`status_<value>`), one row per group (e.g. "plan_id"), or a single row without a
        group. One query either way."""
        # The late count is late()'s own condition, counted in the same query: a second
        # reading of lateness here would drift from what the lists show. Inline rather than
        # "pk IN (late())": as fast as the grouped MAX it replaces for one plan's actions,
        # and SQLite sometimes plans the IN ten times slower (benchmarks/README.md).
        figures = {
            "total": Count("pk"),
            "average_progress": Avg("progress"),
            "reported_count": Count("pk", filter=Action.progress_reported_condition()),
            "late_count": Count("pk", filter=late_condition(today)),
            **{
                f"status_{status}": Count("pk", filter=Q(status=status))
                for status in Action.Status
            },
        }
        actions = self.with_progress().order_by()
        if not group_by:
            return [actions.aggregate(**figures)]
        return actions.values(*group_by).annotate(**figures)


class Action(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", pgettext_lazy("action status", "À venir")
        IN_PROGRESS = "in_progress", pgettext_lazy("action status", "En cours")
        DONE = "done", pgettext_lazy("action status", "Réalisée")
        POSTPONED = "postponed", pgettext_lazy("action status", "Reportée")
        ABANDONED = "abandoned", pgettext_lazy("action status", "Abandonnée")

    # Each status's colour, mirrored in static/css/common.css; the workbook fills with it.
    STATUS_COLOURS = {
        Status.PLANNED: "#545b64",
        Status.IN_PROGRESS: "#1c58a8",
        Status.DONE: "#1d6f32",
        Status.POSTPONED: "#8a4b00",
        Status.ABANDONED: "#8b1a1a",
    }
    # A status that cannot become late.
    CLOSED_STATUSES = (Status.DONE, Status.ABANDONED)
    # Moving to one of these asks for a reason, kept in the action's trail.
    STATUSES_NEEDING_REASON = (Status.POSTPONED, Status.ABANDONED)
    # How progress is counted, the one home of the rule (Decidim's accountability does the
    # same): the progress (%) each status implies when no completion is typed. None: the
    # action has no progress, roll-ups leave it out. with_progress() annotates it, and the
    # pages, the report and the workbook write the rule's sentence from this mapping.
    IMPLIED_PROGRESS = {
        Status.DONE: 100,
        Status.IN_PROGRESS: 50,
        Status.PLANNED: 0,
        Status.POSTPONED: 0,
        Status.ABANDONED: None,
    }
    # Statuses whose implied progress wins over a typed completion: done is 100 %.
    PROGRESS_SET_BY_STATUS = (Status.DONE, Status.ABANDONED)

    plan = models.ForeignKey(
        Plan,
        models.CASCADE,
        related_name="actions",
        verbose_name=_("plan"),
        editable=False,  # always the sub-objective's plan; kept here for per-plan uniqueness
    )
    sub_objective = models.ForeignKey(
        SubObjective, models.PROTECT, related_name="actions", verbose_name=_("sous-objectif")
    )
    code = models.CharField(_("code"), max_length=20, validators=[code_validator])
    sort_key = models.CharField(max_length=100, editable=False, db_index=True)
    title = models.CharField(_("titre"), max_length=500)
    means = models.TextField(_("moyens d'action et conditions de réalisation"), blank=True)
    status = models.CharField(
        _("statut"), max_length=20, choices=Status.choices, default=Status.PLANNED
    )
    # Set and reset by actions.services.change_status only, with the status it belongs to.
    awaiting_date = models.BooleanField(
        _("en attente d'une nouvelle date"),
        default=False,
        editable=False,
        help_text=_(
            "Reportée sans nouvelle date : l'action n'est pas en retard tant qu'elle attend."
        ),
    )
    completion = models.PositiveSmallIntegerField(
        _("avancement (%)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text=_("Facultatif : de 0 à 100."),
    )
    periods = models.ManyToManyField(
        Period, blank=True, related_name="actions", verbose_name=_("périodes prévues")
    )
    related_actions = models.ManyToManyField(
        "self",
        blank=True,
        verbose_name=_("actions liées"),
        help_text=_("Les actions citées dans le plan par « Lien 1.2.3 »."),
    )
    themes = models.ManyToManyField(
        Theme, blank=True, related_name="actions", verbose_name=_("thèmes")
    )
    partners_text = models.TextField(
        _("porteurs et partenaires (texte d'origine)"),
        blank=True,
        help_text=_("La cellule telle qu'écrite dans le document adopté."),
    )
    carrier_to_be_found = models.BooleanField(_("porteur à trouver (« ? »)"), default=False)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    # Related actions too, on both ends: restoring a deleted action brings its links back.
    coalition_path = "plan__coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecordsBothEnds(m2m_fields=[periods, related_actions, themes])
    objects = ActionQuerySet.as_manager()

    class Meta:
        ordering = ["plan_id", "sort_key"]
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "code"],
                name="action_unique_code_per_plan",
                violation_error_message=_("Ce code d'action existe déjà dans ce plan."),
            ),
            models.CheckConstraint(
                condition=Q(completion__isnull=True) | Q(completion__gte=0, completion__lte=100),
                name="action_completion_0_100",
                violation_error_message=_("L'avancement doit être entre 0 et 100 %."),
            ),
            models.CheckConstraint(
                condition=Q(awaiting_date=False) | Q(status="postponed"),
                name="action_awaiting_date_only_postponed",
                violation_error_message=_(
                    "Seule une action reportée peut attendre une nouvelle date."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"

    def save(self, *args, **kwargs):
        if self.sub_objective_id:
            self.plan_id = self.sub_objective.objective.plan_id
        self.sort_key = code_sort_key(self.code)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("dashboard:action", args=[self.plan.slug, self.code])

    def clean(self):
        if self.sub_objective_id:
            self.plan_id = self.sub_objective.objective.plan_id
            prefix = f"{self.sub_objective.code}."
            if self.code and not self.code.startswith(prefix):
                raise ValidationError(
                    {
                        "code": _(
                            "Le code %(code)s ne correspond pas au sous-objectif %(sub)s : "
                            "il doit commencer par %(prefix)s"
                        )
                        % {"code": self.code, "sub": self.sub_objective.code, "prefix": prefix}
                    }
                )

    def validate_constraints(self, exclude=None):
        # The plan is derived, so forms never carry it; check the per-plan code anyway.
        super().validate_constraints(exclude=set(exclude or ()) - {"plan"})

    @classmethod
    def implied_progress(cls, status):
        """The progress `status` implies without a typed completion, as with_progress()
        annotates it: None for an abandoned action."""
        return cls.IMPLIED_PROGRESS[status]

    @classmethod
    def progress_for(cls, status, completion):
        """The progress with_progress() annotates for this status and typed completion."""
        if status in cls.PROGRESS_SET_BY_STATUS or completion is None:
            return cls.IMPLIED_PROGRESS[status]
        return completion

    @classmethod
    def progress_reported_condition(cls):
        """Actions counted with the completion typed for them, not what the status implies."""
        return Q(completion__isnull=False) & ~Q(status__in=cls.PROGRESS_SET_BY_STATUS)

    @property
    def progress_reported(self):
        """True when `progress` is the completion typed for this action."""
        return self.completion is not None and self.status not in self.PROGRESS_SET_BY_STATUS

    @property
    def progress_estimated(self):
        """True when `progress` is only what the status implies (≈ on the pages): nobody
        typed a completion, and the status does not settle it (done, abandoned)."""
        return self.completion is None and self.status not in self.PROGRESS_SET_BY_STATUS


class Target(models.Model):
    """A target or expected result (cible et résultat attendu) of an action."""

    class Kind(models.TextChoices):
        DELIVERABLE = "deliverable", _("Livrable")
        COUNT = "count", _("Nombre")

    action = models.ForeignKey(
        Action, models.CASCADE, related_name="targets", verbose_name=_("action")
    )
    description = models.CharField(_("description"), max_length=500)
    kind = models.CharField(
        _("type"), max_length=20, choices=Kind.choices, default=Kind.DELIVERABLE
    )
    unit = models.CharField(_("unité"), max_length=100, blank=True)
    target_value = models.DecimalField(
        _("valeur cible"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    is_done = models.BooleanField(_("livré"), default=False)
    order = models.PositiveSmallIntegerField(_("ordre"), default=0)

    coalition_path = "action__plan__coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["action_id", "order", "id"]
        verbose_name = _("cible")
        verbose_name_plural = _("cibles et résultats attendus")
        constraints = [
            models.CheckConstraint(
                condition=Q(target_value__isnull=True) | Q(target_value__gte=0),
                name="target_value_not_negative",
                violation_error_message=_("La valeur cible ne peut pas être négative."),
            ),
        ]

    def __str__(self):
        return self.description

    def clean(self):
        if self.kind == self.Kind.DELIVERABLE and self.target_value is not None:
            raise ValidationError(
                {"target_value": _("Un livrable n'a pas de valeur cible : choisissez « Nombre ».")}
            )
        if self.kind == self.Kind.COUNT and self.is_done:
            raise ValidationError({"is_done": _("Seul un livrable se coche comme livré.")})


class TargetValue(models.Model):
    """A dated actual value of a counted target."""

    target = models.ForeignKey(
        Target, models.CASCADE, related_name="values", verbose_name=_("cible")
    )
    date = models.DateField(_("date"), default=timezone.localdate)
    value = models.DecimalField(_("valeur"), max_digits=12, decimal_places=2)
    note = models.CharField(_("note"), max_length=300, blank=True)

    coalition_path = "target__action__plan__coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["target_id", "-date", "-id"]
        get_latest_by = "date"
        verbose_name = _("valeur mesurée")
        verbose_name_plural = _("valeurs mesurées")
        constraints = [
            models.CheckConstraint(
                condition=Q(value__gte=0),
                name="targetvalue_not_negative",
                violation_error_message=_("Une valeur mesurée ne peut pas être négative."),
            ),
        ]

    def __str__(self):
        return f"{self.value} ({formats.iso_day(self.date)})"

    def clean(self):
        if self.target_id and self.target.kind != Target.Kind.COUNT:
            raise ValidationError(_("Seule une cible de type « Nombre » reçoit des valeurs."))


class ProgressNote(models.Model):
    """One entry of an action's dated trail: a progress note or a status change."""

    class Kind(models.TextChoices):
        NOTE = "note", _("Note de suivi")
        STATUS_CHANGE = "status_change", _("Changement de statut")

    action = models.ForeignKey(
        Action, models.CASCADE, related_name="notes", verbose_name=_("action")
    )
    date = models.DateField(_("date"), default=timezone.localdate)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.NOTE)
    text = models.TextField(_("note"), blank=True)
    status_from = models.CharField(
        _("ancien statut"), max_length=20, choices=Action.Status.choices, blank=True
    )
    status_to = models.CharField(
        _("nouveau statut"), max_length=20, choices=Action.Status.choices, blank=True
    )
    reason = models.TextField(_("raison"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("auteur"),
    )
    created_at = models.DateTimeField(_("écrite le"), auto_now_add=True)
    # The trail is a record: an entry is never edited; a mistake is corrected by a new entry
    # that points at it (actions.services.correct_note).
    corrects = models.ForeignKey(
        "self",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("corrige l'entrée"),
    )

    coalition_path = "action__plan__coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["action_id", "-date", "-created_at"]
        verbose_name = _("note de suivi")
        verbose_name_plural = _("notes de suivi")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="note") | ~Q(text=""),
                name="progressnote_note_has_text",
                violation_error_message=_("Une note de suivi ne peut pas être vide."),
            ),
            models.CheckConstraint(
                condition=Q(corrects__isnull=True) | Q(kind="note"),
                name="progressnote_correction_is_a_note",
                violation_error_message=_("Une correction est une note de suivi."),
            ),
        ]

    def __str__(self):
        if self.kind == self.Kind.STATUS_CHANGE:
            return _("%(date)s : %(old)s → %(new)s") % {
                "date": self.date,
                "old": self.get_status_from_display(),
                "new": self.get_status_to_display(),
            }
        return f"{self.date} : {self.text[:60]}"

    def clean(self):
        # A correction belongs to the trail of the entry it corrects.
        if self.corrects_id and self.action_id and self.corrects.action_id != self.action_id:
            raise ValidationError(
                {"corrects": _("Une correction porte sur une entrée de la même action.")}
            )
