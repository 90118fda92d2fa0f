"""budgets: resets seen from request metadata, counted once across workers."""

from __future__ import annotations

import math

import pytest

from litellm_observe.worker import budgets, observations


class BudgetResets(budgets.BudgetResets):
    """Fed as the worker feeds it: the metadata read by observations.budgets (its sightings)."""

    def observe(self, metadata):
        return super().observe(observations.budgets(metadata, {}, None)[1])


def meta(**kw):
    base = {"user_api_key_hash": "k1", "user_api_key_spend": 5.0, "user_api_key_budget_reset_at": "2026-11-01 00:00:00"}
    base.update(kw)
    return base


def test_first_sight_is_not_a_reset(tmp_path):
    b = BudgetResets(str(tmp_path))
    assert b.observe(meta(user_api_key_spend=0.0)) == []


def test_reset_at_advancing(tmp_path):
    b = BudgetResets(str(tmp_path))
    assert b.observe(meta()) == []
    assert b.observe(meta(user_api_key_spend=6.0)) == []  # spend grows: nothing
    assert b.observe(meta(user_api_key_spend=0.0, user_api_key_budget_reset_at="2026-12-01 00:00:00")) == ["key"]
    assert b.observe(meta(user_api_key_spend=0.5, user_api_key_budget_reset_at="2026-12-01 00:00:00")) == []


def test_spend_dropping(tmp_path):
    b = BudgetResets(str(tmp_path))
    m = {"user_api_key_team_id": "t1", "user_api_key_team_spend": 10.0}
    assert b.observe(m) == []
    assert b.observe({**m, "user_api_key_team_spend": 12.0}) == []
    assert b.observe({**m, "user_api_key_team_spend": 0.0}) == ["team"]
    assert b.observe({**m, "user_api_key_team_spend": 0.0}) == []


def test_each_entity_type(tmp_path):
    b = BudgetResets(str(tmp_path))
    before = {
        "user_api_key_user_id": "u",
        "user_api_key_user_spend": 3.0,
        "user_api_key_end_user_id": "e",
        "user_api_key_end_user_spend": 2.0,
    }
    after = {**before, "user_api_key_user_spend": 0.0, "user_api_key_end_user_spend": 0.0}
    b.observe(before)
    assert sorted(b.observe(after)) == ["end_user", "user"]


def test_two_workers_count_one_reset_once(tmp_path):
    w1, w2 = BudgetResets(str(tmp_path)), BudgetResets(str(tmp_path))
    for w in (w1, w2):
        w.observe(meta())
    new = meta(user_api_key_spend=0.0, user_api_key_budget_reset_at="2026-12-01 00:00:00")
    assert w1.observe(new) == ["key"]
    assert w2.observe(new) == []  # claimed by w1
    # the next reset is a new one
    newer = meta(user_api_key_spend=0.0, user_api_key_budget_reset_at="2027-01-01 00:00:00")
    assert w2.observe(newer) == ["key"]
    assert w1.observe(newer) == []


def test_two_workers_same_spend_drop_counted_once(tmp_path):
    w1, w2 = BudgetResets(str(tmp_path)), BudgetResets(str(tmp_path))
    m = {"user_api_key_team_id": "t1", "user_api_key_team_spend": 10.0}
    w1.observe(m)
    w2.observe(m)
    assert w1.observe({**m, "user_api_key_team_spend": 0.0}) == ["team"]
    assert w2.observe({**m, "user_api_key_team_spend": 0.0}) == []


def test_two_workers_that_saw_different_spends_count_one_drop_once(tmp_path):
    w1, w2 = BudgetResets(str(tmp_path)), BudgetResets(str(tmp_path))
    m = {"user_api_key_team_id": "t1"}
    w1.observe({**m, "user_api_key_team_spend": 10.0})
    w2.observe({**m, "user_api_key_team_spend": 11.0})  # the team's next request went to worker 2
    w1.observe({**m, "user_api_key_team_spend": 12.0})
    # budget reset job: spend back to 0; the next request on each worker sees it
    counted = w1.observe({**m, "user_api_key_team_spend": 0.0}) + w2.observe({**m, "user_api_key_team_spend": 0.2})
    assert counted == ["team"]


def test_without_marker_dir_every_sight_counts():
    b = BudgetResets(None)
    b.observe(meta())
    assert b.observe(meta(user_api_key_budget_reset_at="2027-01-01")) == ["key"]


@pytest.mark.parametrize("bad", [None, "5", math.nan, math.inf, True, [1]])
def test_unusable_spend_is_ignored(tmp_path, bad):
    b = BudgetResets(str(tmp_path))
    m = {"user_api_key_team_id": "t1", "user_api_key_team_spend": 10.0}
    b.observe(m)
    assert b.observe({**m, "user_api_key_team_spend": bad}) == []


@pytest.mark.parametrize("ident", [None, "", 5, ["x"]])
def test_missing_identity_is_ignored(tmp_path, ident):
    b = BudgetResets(str(tmp_path))
    m = {"user_api_key_team_id": ident, "user_api_key_team_spend": 10.0}
    b.observe(m)
    assert b.observe({**m, "user_api_key_team_spend": 0.0}) == []


def test_tracked_entities_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(budgets, "MAX_TRACKED", 3)
    b = BudgetResets(str(tmp_path))
    for i in range(10):
        b.observe({"user_api_key_team_id": f"t{i}", "user_api_key_team_spend": 1.0})
    assert len(b._last) == 3
    # the oldest was forgotten: its drop is a first sight again, the newest's is a reset
    assert b.observe({"user_api_key_team_id": "t0", "user_api_key_team_spend": 0.0}) == []
    assert b.observe({"user_api_key_team_id": "t9", "user_api_key_team_spend": 0.0}) == ["team"]
