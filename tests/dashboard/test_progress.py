"""The sentences beside every headline figure: the counts by status first, agreed as French
writes them, then the rule that the estimated progress follows, written from the model's
mapping (Action.IMPLIED_PROGRESS) so that the two cannot drift apart."""

import pytest

from actions.models import Action
from dashboard.progress import Rollup, progress_rule, reported_sentence, status_sentence

Status = Action.Status
NBSP = "\xa0"


def test_counts_come_in_the_order_of_what_was_done_with_french_agreement():
    counts = {
        Status.PLANNED: 10,
        Status.IN_PROGRESS: 12,
        Status.DONE: 7,
        Status.POSTPONED: 3,
        Status.ABANDONED: 4,
    }

    assert status_sentence(counts, 36) == (
        "7 réalisées, 12 en cours, 10 à venir, 3 reportées, 4 abandonnées — sur 36 actions"
    )


def test_a_count_of_one_is_singular_and_zero_counts_are_left_out():
    counts = {Status.DONE: 1, Status.IN_PROGRESS: 0, Status.POSTPONED: 1, Status.ABANDONED: 1}

    assert status_sentence(counts, 3) == "1 réalisée, 1 reportée, 1 abandonnée — sur 3 actions"
    assert status_sentence({Status.PLANNED: 1}, 1) == "1 à venir — sur 1 action"


def test_no_action_says_so():
    assert status_sentence({}, 0) == "Aucune action"


def test_the_rule_reads_as_the_model_counts():
    assert progress_rule() == (
        f"Estimation : une action réalisée compte pour 100{NBSP}%, une action abandonnée ne "
        f"compte pas ; les autres comptent pour le % déclaré, sinon en cours 50{NBSP}%, à venir "
        f"ou reportée 0{NBSP}%."
    )


def test_the_rule_is_written_from_the_mapping(monkeypatch):
    changed = {**Action.IMPLIED_PROGRESS, Status.IN_PROGRESS: 30, Status.POSTPONED: 10}
    monkeypatch.setattr(Action, "IMPLIED_PROGRESS", changed)

    rule = progress_rule()

    assert f"en cours 30{NBSP}%, à venir 0{NBSP}%, reportée 10{NBSP}%" in rule
    assert "50" not in rule


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        (0, "Aucune action n'a d'avancement déclaré."),
        (1, "Dont 1 action avec un avancement déclaré."),
        (3, "Dont 3 actions avec un avancement déclaré."),
    ],
)
def test_how_many_actions_count_with_a_reported_progress(reported, expected):
    assert reported_sentence(reported) == expected


def test_a_rollup_counts_unreported_actions_in_progress_half_way():
    actions = [
        Action(status=Status.IN_PROGRESS, completion=None),
        Action(status=Status.IN_PROGRESS, completion=20),
        Action(status=Status.DONE, completion=None),
        Action(status=Status.ABANDONED, completion=70),
    ]
    for action in actions:
        action.progress = Action.progress_for(action.status, action.completion)
        action.is_late = False

    rollup = Rollup.of(actions)

    assert rollup.progress == 57  # (50 + 20 + 100) / 3; the abandoned one is left out
    assert rollup.reported == 1
    assert rollup.status_sentence() == ("1 réalisée, 2 en cours, 1 abandonnée — sur 4 actions")
