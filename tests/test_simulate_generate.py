"""The simulator's generators, without a database: seeded, sized by the specs, valid IDs, real places."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from tracker.kpispec.loader import load_specs
from tracker.records.privacy import validate_id_number
from tracker.simulate import geography as geo
from tracker.simulate.generate import COLUMNS, generate_project
from tracker.simulate.people import age_group, check_char, is_valid_id
from tracker.simulate.profiles import profile_for

SPECS = Path(__file__).resolve().parent / "fixtures" / "simulate"


@pytest.fixture(scope="module")
def specs() -> dict:
    return {ls.spec.code: ls.spec for ls in load_specs(SPECS)}


def test_check_character_matches_the_standard_example() -> None:
    # GB 11643's worked example: 11010519491231002X
    assert check_char("11010519491231002") == "X"
    assert is_valid_id("11010519491231002X")
    assert not is_valid_id("110105194912310021")
    assert not is_valid_id("11010519491331002X")  # month 13


def test_same_seed_same_records_other_seed_other_records(specs: dict) -> None:
    spec = specs["2099B001"]
    a, b = generate_project(spec, seed=7), generate_project(spec, seed=7)
    for kind in COLUMNS:
        pd.testing.assert_frame_equal(a.frames[kind], b.frames[kind])
    c = generate_project(spec, seed=8)
    assert not a.frames["roster"]["name"].equals(c.frames["roster"]["name"])


def test_cut_at_a_date_keeps_record_numbers(specs: dict) -> None:
    data = generate_project(specs["2099B001"])
    early, late = data.until(dt.date(2024, 9, 30)), data.until(dt.date(2024, 12, 31))
    assert (early["activity"]["date"] <= dt.date(2024, 9, 30)).all()
    # everything known in September is still there, identical, in December
    merged = early["activity"].merge(late["activity"], on="record_id", suffixes=("", "_late"))
    assert len(merged) == len(early["activity"])
    assert (merged["date"] == merged["date_late"]).all()
    assert len(late["activity"]) > len(early["activity"])


def test_roster_sizes_follow_the_specs_and_scale(specs: dict) -> None:
    # population.expected: 120 elders, 60 children
    assert len(generate_project(specs["2099B001"]).frames["roster"]) == 120
    assert len(generate_project(specs["2099B010"]).frames["roster"]) == 60
    assert len(generate_project(specs["2099B001"], scale=2).frames["roster"]) == 240


def test_id_numbers_valid_and_ages_fit_the_population(specs: dict) -> None:
    for code, (lo, hi) in (("2099B001", (60, 95)), ("2099B010", (3, 17))):
        spec = specs[code]
        roster = generate_project(spec).frames["roster"]
        assert roster["id_number"].is_unique
        start = spec.project.period.start
        for idn in roster["id_number"]:
            assert validate_id_number(idn) == idn  # the importer's own check
            born = dt.date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14]))
            age = start.year - born.year - ((start.month, start.day) < (born.month, born.day))
            assert lo <= age <= hi, (code, idn[6:14], age)
            assert idn[:6] in geo.AREA_CODES.values()


def test_population_age_groups() -> None:
    assert age_group("elders", "留守独居老人") == "elder"
    assert age_group("children", "困境儿童") == "child"
    assert age_group("volunteers", "志愿者") == "adult"


def test_towns_are_real_townships_of_the_project_area(specs: dict) -> None:
    jiande = set(geo.DISTRICT_TOWNS["建德市"])
    data = generate_project(specs["2099B001"])
    for kind in ("roster", "activity"):
        towns = set(data.frames[kind]["town"].dropna())
        assert towns and towns <= jiande, towns - jiande
    main = {t for d in ("上城区", "拱墅区", "西湖区", "滨江区") for t in geo.DISTRICT_TOWNS[d]}
    towns = set(generate_project(specs["2099B003"]).frames["activity"]["town"])
    assert len(towns) >= 5 and towns <= main
    # district and town agree everywhere
    act = generate_project(specs["2099B010"]).frames["activity"]
    for d, t in zip(act["district"], act["town"], strict=True):
        assert t in geo.DISTRICT_TOWNS[d]


def test_area_wordings() -> None:
    assert geo.districts_for_area(["主城区"]) == ["上城区", "拱墅区", "西湖区", "滨江区"]
    assert len(geo.districts_for_area(["市域范围内"])) == 13
    assert "建德市" not in geo.districts_for_area(["杭州市（西部五县市除外）"])
    assert geo.districts_for_area(["桐庐县", "淳安县"]) == ["桐庐县", "淳安县"]
    assert geo.district_of_town("良渚街道") == "余杭区"
    assert all(len(set(t)) == len(t) for t in geo.DISTRICT_TOWNS.values())


def test_monthly_visits_and_minimum_sizes(specs: dict) -> None:
    data = generate_project(specs["2099B001"])  # on pace
    assert data.profile.name == "on_pace"
    act = data.until(dt.date(2024, 10, 31))["activity"]
    visits = act[act["activity"] == "home_visit"].copy()
    visits["month"] = [d.replace(day=1) for d in visits["date"]]
    per = visits.groupby(["person_id", "month"]).size()
    # every elder visited in every full month June–October
    assert len(per) == 120 * 5 and per.min() >= 1
    # group sessions of the behind project: at least 20 people each, fewer than the pace needs
    b = generate_project(specs["2099B003"])
    assert b.profile.name == "behind"
    sessions = b.frames["activity"]
    assert (sessions["participants"] >= 20).all()
    assert len(sessions) < 20


def test_violations_are_injected_for_the_violations_profile(specs: dict) -> None:
    data = generate_project(specs["2099B010"])
    assert profile_for("2099B010").name == "violations"
    act = data.frames["activity"]
    groups = act[act["activity"] == "group_work"]
    assert (groups["participants"] < 15).sum() == 1  # one event under its minimum
    tutoring = act[act["activity"] == "tutoring"].groupby("person_id").size()
    assert (tutoring > 3).sum() == 1  # one child over the cap of 3, already before the mid-term
    early = act[(act["activity"] == "tutoring") & (act["date"] <= dt.date(2024, 11, 5))]
    assert early.groupby("person_id").size().max() == 4
    approval = data.frames["approval"]["date"].min()
    assert (act["date"] < approval).sum() == 1  # one activity before its approval
    staff = set(data.frames["staff"]["staff_id"])
    holders = set(data.frames["credential"]["staff_id"])
    assert len(staff - holders) == 1  # one staff member without 无犯罪记录证明
    assert len(data.frames["incident"]) == 1
    assert len(data.violations) == 5


@pytest.mark.parametrize("code", ["2099B001", "2099B010"])
def test_staff_are_named_only_on_days_they_are_in_post_with_their_credentials(specs: dict, code: str) -> None:
    """Late hires (the fifth staff member on) start between the project start and the mid-term: an
    activity names only staff already in post that day, each holding, by then, every credential they
    hold at all (so a credential rule finds only the deliberate violation)."""
    data = generate_project(specs[code])
    staff = data.frames["staff"].set_index("name")
    act = data.frames["activity"]
    started = act["staff"].map(staff["started_on"])
    assert started.notna().all() and (started <= act["date"]).all()
    late = staff[staff["started_on"] > data.frames["activity"]["date"].min()]
    assert len(late) >= 1  # the rule above is not vacuous: some staff join after the first activity
    cred = data.frames["credential"].merge(data.frames["staff"][["staff_id", "started_on"]], on="staff_id")
    assert (cred["obtained_on"] < cred["started_on"]).all()
