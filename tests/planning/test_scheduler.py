"""The scheduler on plain inputs: calendars, capacity, predecessors, pinning, directions."""

import itertools
import random
from datetime import UTC, date, datetime, time

from planning.scheduler import (
    BACKWARD,
    FORWARD,
    Center,
    Job,
    WorkingCalendar,
    improve,
    load_per_window,
    schedule_jobs,
    shift_windows,
    subtract_windows,
)

H = 60
DAY = 24 * H
ALL_DAYS = set(range(7))
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, 00:00


def day_shift_center(cid=1, capacity=1, days=30):
    windows = shift_windows(
        [(time(8), time(16), ALL_DAYS)], origin=MONDAY, first_day=MONDAY.date(), days=days
    )
    return Center(cid, capacity, WorkingCalendar(windows))


def job(jid, minutes, *, order=None, seq=10, center=1, due=None, pinned=None, eligible=(), prio=5):
    order = order if order is not None else jid
    return Job(
        id=jid,
        order_id=order,
        order_key=(prio, due if due is not None else 10**9, f"WO{order:04d}"),
        sequence=seq,
        minutes=minutes,
        work_center=center,
        eligible=eligible,
        due=due,
        pinned_start=pinned,
    )


def test_night_shift_runs_across_midnight():
    windows = shift_windows(
        [(time(22), time(6), ALL_DAYS)], origin=MONDAY, first_day=MONDAY.date(), days=3
    )
    calendar = WorkingCalendar(windows)
    start = calendar.next_working(0)
    assert start == 0  # Monday 00:00 is inside Sunday's night shift
    # 8 hours from Monday 22:00 end Tuesday 06:00, across midnight, in one window.
    assert calendar.add(22 * H, 8 * H) == DAY + 6 * H
    # Work left at 06:00 waits for the next night.
    assert calendar.add(5 * H, 2 * H) == 22 * H + H


def test_holiday_is_skipped():
    centers = {1: day_shift_center()}
    holiday = (DAY, 2 * DAY)  # Tuesday closed
    centers[1].calendar = WorkingCalendar(subtract_windows(centers[1].calendar.windows, [holiday]))
    schedule = schedule_jobs([job(1, 8 * H), job(2, 4 * H)], centers, now=0)
    first, second = schedule.placements[1], schedule.placements[2]
    assert (first.start, first.end) == (8 * H, 16 * H)
    assert second.start == 2 * DAY + 8 * H  # Wednesday, not the holiday


def test_capacity_two_runs_two_at_once_and_one_waits():
    centers = {1: day_shift_center(capacity=2)}
    schedule = schedule_jobs([job(1, 4 * H), job(2, 4 * H), job(3, 4 * H)], centers, now=0)
    starts = sorted(p.start for p in schedule.placements.values())
    assert starts == [8 * H, 8 * H, 12 * H]
    assert {p.station for p in schedule.placements.values()} == {0, 1}


def test_operation_never_starts_before_its_predecessor_ends():
    centers = {1: day_shift_center(1), 2: day_shift_center(2)}
    jobs = [job(1, 3 * H, order=7, seq=10, center=1), job(2, H, order=7, seq=20, center=2)]
    schedule = schedule_jobs(jobs, centers, now=0)
    assert schedule.placements[2].start >= schedule.placements[1].end == 11 * H


def test_pinned_operation_keeps_its_place_and_others_flow_around():
    centers = {1: day_shift_center()}
    jobs = [job(1, 2 * H, prio=1), job(2, 2 * H, pinned=9 * H, prio=9)]
    schedule = schedule_jobs(jobs, centers, now=0)
    assert schedule.placements[2].start == 9 * H
    assert schedule.placements[1].start == 11 * H  # 8-10 would overlap the pinned 9-11


def test_alternative_work_center_is_used_when_it_finishes_first():
    centers = {1: day_shift_center(1), 2: day_shift_center(2)}
    jobs = [job(1, 8 * H, center=1, eligible=(1, 2)), job(2, 8 * H, center=1, eligible=(1, 2))]
    schedule = schedule_jobs(jobs, centers, now=0)
    assert {p.work_center for p in schedule.placements.values()} == {1, 2}
    assert schedule.placements[2].start == 8 * H


def test_backward_ends_at_the_due_date_and_falls_back_to_forward_in_the_past():
    centers = {1: day_shift_center()}
    due = 3 * DAY  # Thursday 00:00 - the plan should end Wednesday 16:00
    late_due = 8 * H + 30  # cannot fit 2 h before it: forward instead
    jobs = [job(1, 2 * H, order=1, due=due), job(2, 2 * H, order=2, due=late_due, prio=1)]
    schedule = schedule_jobs(jobs, centers, now=0, direction=BACKWARD)
    assert schedule.placements[1].end == 2 * DAY + 16 * H
    assert schedule.placements[2].start == 8 * H  # forward from now


def test_forward_starts_at_now():
    centers = {1: day_shift_center()}
    schedule = schedule_jobs([job(1, H)], centers, now=DAY + 10 * H, direction=FORWARD)
    assert schedule.placements[1].start == DAY + 10 * H


def test_infinite_capacity_shows_overload_in_percent():
    centers = {1: day_shift_center()}
    jobs = [job(i, 8 * H) for i in range(1, 4)]
    schedule = schedule_jobs(jobs, centers, now=0, infinite=True)
    assert {p.start for p in schedule.placements.values()} == {8 * H}
    load = load_per_window(schedule, centers)
    assert load[0]["percent"] == 300


def test_improve_is_never_worse_than_first_fit():
    rng = random.Random(7)
    centers = {cid: day_shift_center(cid, capacity=1 + cid % 2, days=60) for cid in range(1, 5)}
    jobs, jid = [], 0
    for order in range(1, 31):
        due = rng.randint(1, 10) * DAY
        for seq in (10, 20, 30):
            jid += 1
            center = rng.randint(1, 4)
            eligible = (center, rng.randint(1, 4))
            jobs.append(
                job(
                    jid,
                    rng.randint(30, 300),
                    order=order,
                    seq=seq,
                    center=center,
                    due=due,
                    eligible=eligible,
                    prio=rng.randint(1, 9),
                )
            )
    seed = schedule_jobs(jobs, centers, now=0)
    better, info = improve(jobs, centers, seed=seed, now=0, time_limit=3.0)
    assert better.objective(jobs) <= seed.objective(jobs)
    assert info["objective"] == better.objective(jobs)
    assert len(better.placements) == len(jobs)
    for ops in _by_order(jobs).values():  # the improved plan keeps each order's sequence
        for before, after in itertools.pairwise(ops):
            assert better.placements[after.id].start >= better.placements[before.id].end


def _by_order(jobs):
    result = {}
    for j in sorted(jobs, key=lambda j: j.sequence):
        result.setdefault(j.order_id, []).append(j)
    return result


def test_improve_keeps_pinned_operations():
    centers = {1: day_shift_center(), 2: day_shift_center(2)}
    jobs = [job(1, 2 * H, pinned=DAY + 9 * H), job(2, 3 * H, due=DAY, eligible=(1, 2)), job(3, H)]
    seed = schedule_jobs(jobs, centers, now=0)
    better, _info = improve(jobs, centers, seed=seed, now=0, time_limit=1.0)
    assert better.placements[1].start == DAY + 9 * H


def test_calendar_with_no_shifts_runs_around_the_clock():
    calendar = WorkingCalendar([])
    assert calendar.next_working(123) == 123
    assert calendar.add(10, 50) == 60
    assert date(2026, 1, 5).weekday() == 0


def test_improve_copes_with_pinned_operations_stacked_and_out_of_sequence():
    centers = {1: day_shift_center(), 2: day_shift_center(2)}
    jobs = [
        job(1, 2 * H, order=1, seq=10, eligible=(1, 2)),
        job(2, 2 * H, order=1, seq=20, pinned=8 * H),  # before its predecessor can end
        job(3, 3 * H, order=2, pinned=9 * H),  # overlaps job 2 on one station
        job(4, H, order=3, due=DAY, eligible=(1, 2)),
    ]
    seed = schedule_jobs(jobs, centers, now=0)
    better, info = improve(jobs, centers, seed=seed, now=0, time_limit=1.0)
    assert info["status"] in ("OPTIMAL", "FEASIBLE")
    assert better.objective(jobs) <= seed.objective(jobs)
    assert (better.placements[2].start, better.placements[3].start) == (8 * H, 9 * H)
