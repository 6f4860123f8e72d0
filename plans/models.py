from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from plans import formats

# A plan is an adopted document: its parts never move to another plan, or their actions'
# codes, periods and plan would disagree.
MOVE_ACROSS_PLANS = _(
    "Un objectif ou un sous-objectif ne change pas de plan : créez-le dans l'autre plan."
)


class Coalition(models.Model):
    """A concertation table (table de concertation) that adopts plans."""

    name = models.CharField(_("nom"), max_length=200, unique=True)
    short_name = models.CharField(_("nom court"), max_length=50, blank=True)
    slug = models.SlugField(_("identifiant"), unique=True)
    territory = models.CharField(_("territoire"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    publishes_progress = models.BooleanField(
        _("publie son avancement"),
        default=False,
        help_text=_(
            "Si le site ouvre le tableau de bord au public (réglage PUBLIC_DASHBOARD), "
            "celui de cette coalition se lit sans connexion."
        ),
    )

    coalition_path = ""  # whose rows: its own (access/coalitions.py)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("coalition")
        verbose_name_plural = _("coalitions")

    def __str__(self):
        return self.short_name or self.name


class Membership(models.Model):
    """A person's seat at a coalition: it opens the coalition's dashboard to her."""

    coalition = models.ForeignKey(
        Coalition, models.CASCADE, related_name="memberships", verbose_name=_("coalition")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="memberships",
        verbose_name=_("utilisateur"),
    )
    organisation = models.ForeignKey(
        "partners.Organisation",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("organisme"),
        help_text=_("Le tableau de bord lui propose ce que son organisme porte."),
    )

    coalition_path = "coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["coalition_id", "user_id"]
        verbose_name = _("membre")
        verbose_name_plural = _("membres")
        constraints = [
            models.UniqueConstraint(
                fields=["coalition", "user"],
                name="membership_unique_user_per_coalition",
                violation_error_message=_("Cette personne est déjà membre de cette coalition."),
            ),
        ]

    def __str__(self):
        return f"{self.user} – {self.coalition}"


# The names plans give their first level, as the interface translates them.
OBJECTIVE_WORDS = {
    "objectif": _("Objectif"),
    "axe": _("Axe"),
    "orientation": _("Orientation"),
    "champ d'intervention": _("Champ d'intervention"),
}


class Plan(models.Model):
    class Kind(models.TextChoices):
        OPERATIONAL = "operational", _("Plan d'action opérationnel")
        STRATEGIC = "strategic", _("Plan stratégique")

    coalition = models.ForeignKey(
        Coalition, models.PROTECT, related_name="plans", verbose_name=_("coalition")
    )
    title = models.CharField(_("titre"), max_length=300)
    slug = models.SlugField(
        _("identifiant"), unique=True, help_text=_("Sert dans les adresses et les imports.")
    )
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    start = models.DateField(_("début"))
    end = models.DateField(_("fin"))
    dates_note = models.CharField(
        _("origine des dates"),
        max_length=300,
        blank=True,
        help_text=_("À remplir quand le document ne donne pas les dates exactes."),
    )
    adopted_on = models.DateField(_("adopté le"), null=True, blank=True)
    objective_label = models.CharField(
        _("nom des objectifs"),
        max_length=50,
        default="Objectif",  # data, not interface text: stored as the plan writes it
        help_text=_("Comment le plan nomme ses grandes divisions, par exemple Objectif ou Axe."),
    )
    principles = models.TextField(_("principes de base"), blank=True)
    problem = models.TextField(_("problématique"), blank=True)
    desired_change = models.TextField(_("résultat de changement souhaité"), blank=True)
    notes = models.TextField(_("notes"), blank=True)

    coalition_path = "coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start", "title"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="plan_end_after_start",
                violation_error_message=_("La fin du plan doit être après son début."),
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("dashboard:plan", args=[self.slug])

    @property
    def objective_word(self):
        """The plan's name for its first level in the reader's language ("Objectif" reads
        "Objective" in English); a name the application does not know stays as written."""
        known = OBJECTIVE_WORDS.get(self.objective_label.strip().lower())
        return str(known) if known else self.objective_label


class Period(models.Model):
    """One schedule column of a plan (CASAL: 2016-2018, 2018-2019, 2019-2020)."""

    plan = models.ForeignKey(Plan, models.CASCADE, related_name="periods", verbose_name=_("plan"))
    label = models.CharField(_("libellé"), max_length=50)
    start = models.DateField(_("début"))
    end = models.DateField(_("fin"))
    dates_note = models.CharField(
        _("origine des dates"),
        max_length=300,
        blank=True,
        help_text=_("À remplir quand le document ne donne que le libellé de la colonne."),
    )

    coalition_path = "plan__coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["plan_id", "start"]
        verbose_name = _("période")
        verbose_name_plural = _("périodes")
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="period_end_after_start",
                violation_error_message=_("La fin de la période doit être après son début."),
            ),
            models.UniqueConstraint(
                fields=["plan", "label"],
                name="period_unique_label_per_plan",
                violation_error_message=_("Ce plan a déjà une période avec ce libellé."),
            ),
        ]

    def __str__(self):
        return self.label

    def has_ended(self, today=None):
        return self.end < (today or timezone.localdate())

    def is_current(self, today=None):
        today = today or timezone.localdate()
        return self.start <= today <= self.end


class Theme(models.Model):
    """A component of food security; actions of any plan can be tagged with it."""

    code = models.SlugField(_("code"), unique=True)
    name = models.CharField(_("nom"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    order = models.PositiveSmallIntegerField(_("ordre"), default=0)

    # The province's vocabulary: everyone reads it, superusers change it (access/coalitions.py).
    coalition_path = None
    access = "province"
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("thème")
        verbose_name_plural = _("thèmes")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("dashboard:theme", args=[self.code])


class Objective(models.Model):
    """Objectif, axe or champ d'intervention: the first level of a plan."""

    plan = models.ForeignKey(
        Plan, models.CASCADE, related_name="objectives", verbose_name=_("plan")
    )
    number = models.PositiveSmallIntegerField(_("numéro"))
    title = models.CharField(_("titre"), max_length=500)
    cross_cutting_objectives = models.TextField(
        _("objectifs transversaux"), blank=True, help_text=_("Un par ligne.")
    )
    target_populations = models.TextField(_("populations cibles"), blank=True)
    description = models.TextField(_("description"), blank=True)

    coalition_path = "plan__coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["plan_id", "number"]
        verbose_name = _("objectif")
        verbose_name_plural = _("objectifs")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "number"],
                name="objective_unique_number_per_plan",
                violation_error_message=_("Ce plan a déjà un objectif avec ce numéro."),
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"

    def clean(self):
        # Compared with the stored row only: a restored objective has its pk but no row yet.
        stored = Objective.objects.filter(pk=self.pk).values_list("plan_id", flat=True).first()
        if self.pk and stored is not None and self.plan_id != stored:
            raise ValidationError({"plan": MOVE_ACROSS_PLANS})

    @property
    def code(self):
        return str(self.number)


class SubObjective(models.Model):
    objective = models.ForeignKey(
        Objective, models.CASCADE, related_name="sub_objectives", verbose_name=_("objectif")
    )
    number = models.PositiveSmallIntegerField(_("numéro"))
    title = models.CharField(_("titre"), max_length=500)

    coalition_path = "objective__plan__coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["objective__plan_id", "objective__number", "number"]
        verbose_name = _("sous-objectif")
        verbose_name_plural = _("sous-objectifs")
        constraints = [
            models.UniqueConstraint(
                fields=["objective", "number"],
                name="subobjective_unique_number_per_objective",
                violation_error_message=_("Cet objectif a déjà un sous-objectif avec ce numéro."),
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"

    def clean(self):
        if self.pk and self.objective_id:
            stored = (
                SubObjective.objects.filter(pk=self.pk)
                .values_list("objective__plan_id", flat=True)
                .first()
            )
            if stored is not None and self.objective.plan_id != stored:
                raise ValidationError({"objective": MOVE_ACROSS_PLANS})

    @property
    def code(self):
        return f"{self.objective.number}.{self.number}"


class Assembly(models.Model):
    """A dated general assembly of a coalition; the dashboard compares against the last one."""

    coalition = models.ForeignKey(
        Coalition, models.CASCADE, related_name="assemblies", verbose_name=_("coalition")
    )
    date = models.DateField(_("date"))
    title = models.CharField(_("titre"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    coalition_path = "coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date"]
        verbose_name = _("assemblée")
        verbose_name_plural = _("assemblées")
        constraints = [
            models.UniqueConstraint(
                fields=["coalition", "date"],
                name="assembly_unique_date_per_coalition",
                violation_error_message=_("Cette coalition a déjà une assemblée à cette date."),
            ),
        ]

    def __str__(self):
        return self.title or f"{self.coalition} – {formats.iso_day(self.date)}"


class Review(models.Model):
    """A progress review (suivi, bilan) of a plan over a stretch of time."""

    plan = models.ForeignKey(Plan, models.CASCADE, related_name="reviews", verbose_name=_("plan"))
    title = models.CharField(_("titre"), max_length=300)
    start = models.DateField(_("début"))
    end = models.DateField(_("fin"))
    period_label = models.CharField(_("période telle qu'écrite"), max_length=200, blank=True)
    presented_at = models.ForeignKey(
        Assembly,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviews",
        verbose_name=_("présenté à l'assemblée"),
    )
    notes = models.TextField(_("notes"), blank=True)

    coalition_path = "plan__coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["plan_id", "-start"]
        verbose_name = _("bilan")
        verbose_name_plural = _("bilans")
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="review_end_after_start",
                violation_error_message=_("La fin du bilan doit être après son début."),
            ),
        ]

    def __str__(self):
        return self.title


class ReviewMeeting(models.Model):
    review = models.ForeignKey(
        Review, models.CASCADE, related_name="meetings", verbose_name=_("bilan")
    )
    body = models.CharField(_("comité ou instance"), max_length=200)
    count = models.PositiveSmallIntegerField(_("nombre de rencontres"))
    order = models.PositiveSmallIntegerField(_("ordre"), default=0)

    coalition_path = "review__plan__coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["review_id", "order"]
        verbose_name = _("rencontre")
        verbose_name_plural = _("rencontres")

    def __str__(self):
        return f"{self.count} × {self.body}"


class ReviewFunding(models.Model):
    review = models.ForeignKey(
        Review, models.CASCADE, related_name="funding", verbose_name=_("bilan")
    )
    funder = models.CharField(_("source de financement"), max_length=200)
    amount = models.DecimalField(_("montant ($)"), max_digits=12, decimal_places=2)
    note = models.CharField(_("note"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(_("ordre"), default=0)

    coalition_path = "review__plan__coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["review_id", "order"]
        verbose_name = _("financement")
        verbose_name_plural = _("financements")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="reviewfunding_amount_not_negative",
                violation_error_message=_("Un montant ne peut pas être négatif."),
            ),
        ]

    def __str__(self):
        decimals = 0 if formats.is_whole(self.amount) else 2
        amount = number_format(self.amount, decimal_pos=decimals, force_grouping=True)
        return f"{self.funder} : {amount} $"


class ReviewStaff(models.Model):
    review = models.ForeignKey(
        Review, models.CASCADE, related_name="staff", verbose_name=_("bilan")
    )
    role = models.CharField(_("rôle"), max_length=200)
    count = models.PositiveSmallIntegerField(_("nombre"), default=1)
    duration = models.CharField(_("durée"), max_length=100, blank=True)
    order = models.PositiveSmallIntegerField(_("ordre"), default=0)

    coalition_path = "review__plan__coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["review_id", "order"]
        verbose_name = _("ressource humaine")
        verbose_name_plural = _("ressources humaines")

    def __str__(self):
        return f"{self.count} {self.role}"


class ReviewItem(models.Model):
    """A line of a review: a result, a next step, what is planned, a question."""

    class Kind(models.TextChoices):
        RESULT = "result", _("Résultat")
        PLANNED = "planned", _("Prévu")
        NEXT_STEP = "next_step", _("Prochaine étape")
        QUESTION = "question", _("Question à l'assemblée")

    review = models.ForeignKey(
        Review, models.CASCADE, related_name="items", verbose_name=_("bilan")
    )
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    heading = models.CharField(
        _("rubrique"), max_length=200, blank=True, help_text=_("Par exemple : Gestion.")
    )
    text = models.TextField(_("texte"))
    order = models.PositiveSmallIntegerField(_("ordre"), default=0)

    coalition_path = "review__plan__coalition"  # whose rows: access/coalitions.py
    history = HistoricalRecords()

    class Meta:
        ordering = ["review_id", "order"]
        verbose_name = _("élément du bilan")
        verbose_name_plural = _("éléments du bilan")

    def __str__(self):
        return self.text


class UploadedTable(models.Model):
    """An uploaded file between its preview and the confirmation of its import: a plan's
    table, or the rows of an admin list (actions, organisations).

    In the database, not on a server's disk: behind a load balancer, the preview and the
    confirmation may reach different servers. It belongs to the person who uploaded it: a
    token read by anyone else finds nothing. Deleted once imported or replaced, and after a
    day. Not plan data: no history, no backup."""

    class Kind(models.TextChoices):
        PLAN_TABLE = "plan_table", _("tableau d'un plan")
        LIST_ROWS = "list_rows", _("lignes d'une liste")

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PLAN_TABLE)
    # The plan whose table it is; none for a list's rows.
    plan = models.ForeignKey(Plan, models.CASCADE, related_name="+", null=True, blank=True)
    name = models.CharField(_("fichier"), max_length=255)
    sheet = models.CharField(_("feuille"), max_length=255, blank=True)
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("tableau téléversé")
        verbose_name_plural = _("tableaux téléversés")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="plan_table", plan__isnull=False)
                | Q(kind="list_rows", plan__isnull=True),
                name="uploaded_table_plan_for_plan_tables_only",
            )
        ]

    def __str__(self):
        return self.name
