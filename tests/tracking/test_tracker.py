"""Tests of the per-camera tracker on hand-made sequences of boxes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from pydantic import ValidationError

from tests.tracking.scenes import car, person
from watchfloor.detection.base import Detection
from watchfloor.tracking.appearance import appearance_distance
from watchfloor.tracking.tracker import (
    ObjectTracker,
    TrackedObject,
    TrackerSettings,
    TrackerUpdate,
    TrackState,
)


def run(
    tracker: ObjectTracker, frames: Sequence[tuple[float, list[Detection]]]
) -> list[TrackerUpdate]:
    """Feed ``(time, detections)`` pairs to the tracker; return every update."""
    return [tracker.update(detections, time) for time, detections in frames]


def id_at(update: TrackerUpdate, x: float, tolerance: float = 15.0) -> int:
    """Id of the one tracked object whose box's left edge is near ``x``."""
    found = [t.track_id for t in update.tracks if abs(t.box[0] - x) <= tolerance]
    assert len(found) == 1, f"expected one track near x={x}, got {update.tracks}"
    return found[0]


def all_ids(updates: Sequence[TrackerUpdate]) -> set[int]:
    return {t.track_id for u in updates for t in u.tracks}


@pytest.mark.parametrize("rate", [5.0, 10.0, 25.0])
@pytest.mark.parametrize("hide_back_person", [False, True])
def test_crossing_paths_keep_their_ids(rate: float, hide_back_person: bool) -> None:
    # Two people walk towards each other at 1.5 m/s-ish (150 px/s) and pass;
    # the one further back is optionally hidden while they overlap.
    tracker = ObjectTracker()
    frames = []
    steps = int(4.0 * rate)
    for k in range(steps):
        t = k / rate
        right = 20.0 + 150.0 * t
        left = 600.0 - 150.0 * t
        detections = [person(right, 100.0)]
        overlapping = abs(right - left) < 40.0
        if not (hide_back_person and overlapping):
            detections.append(person(left, 108.0, w=36.0, h=92.0))
        frames.append((t, detections))
    updates = run(tracker, frames)

    # Before they meet and after they part, each keeps the id it had.
    before = next(u for u, (t, _) in zip(updates, frames, strict=True) if t >= 0.4)
    after = updates[-1]
    t_end = frames[-1][0]
    walker_right = id_at(before, 20.0 + 150.0 * before.time)
    walker_left = id_at(before, 600.0 - 150.0 * before.time)
    assert walker_right != walker_left
    assert id_at(after, 20.0 + 150.0 * t_end) == walker_right
    assert id_at(after, 600.0 - 150.0 * t_end) == walker_left
    assert all_ids(updates) == {walker_right, walker_left}


@pytest.mark.parametrize("rate", [4.0, 10.0, 30.0])
@pytest.mark.parametrize(
    ("hidden_s", "keeps_id"),
    [(0.5, True), (1.5, True), (2.7, True), (3.5, False), (4.5, False)],
)
def test_occlusion_within_the_lost_buffer_keeps_the_id(
    rate: float, hidden_s: float, keeps_id: bool
) -> None:
    # A person walks at 60 px/s and is hidden behind a pillar for hidden_s;
    # the lost buffer is the default 3 s whatever the frame rate.
    tracker = ObjectTracker()
    hide_from = 2.0
    frames = []
    for k in range(int(8.0 * rate)):
        t = k / rate
        visible = not (hide_from <= t < hide_from + hidden_s)
        frames.append((t, [person(50.0 + 60.0 * t, 200.0)] if visible else []))
    updates = run(tracker, frames)

    first_id = updates[int(1.0 * rate)].tracks[0].track_id
    last = updates[-1].tracks
    assert len(last) == 1
    assert (last[0].track_id == first_id) is keeps_id
    lost_events = [i for u in updates for i in u.lost]
    assert lost_events == [first_id]
    ended = [i for u in updates for i in u.ended]
    recovered = [i for u in updates for i in u.recovered]
    if keeps_id:
        assert recovered == [first_id]
        assert ended == []
    else:
        assert recovered == []
        assert ended == [first_id]


@pytest.mark.parametrize("rate", [5.0, 10.0, 25.0])
def test_an_object_that_stopped_while_hidden_keeps_its_id(rate: float) -> None:
    # A person walking at 80 px/s stops behind a pillar and shows again 1 s
    # later where they stopped, far from where walking on would have taken
    # them: their box no longer overlaps the prediction, but the motion's
    # grown uncertainty still allows it.
    tracker = ObjectTracker()
    frames = [
        (k / rate, [person(50.0 + 80.0 * k / rate, 150.0)])
        for k in range(int(2 * rate))
    ]
    stop_x = 50.0 + 80.0 * (int(2 * rate) - 1) / rate
    frames += [
        (2.0 + 1.0 + k / rate, [person(stop_x, 150.0)]) for k in range(int(rate))
    ]
    updates = run(tracker, frames)

    assert all_ids(updates) == {1}
    assert [i for u in updates for i in u.recovered] == [1]


@pytest.mark.parametrize(
    "settings",
    [
        TrackerSettings(),
        TrackerSettings(confirm_hits=3),
        TrackerSettings(confirm_s=0.3),
    ],
)
@pytest.mark.parametrize("score", [0.95, 0.7])
def test_one_frame_false_positive_makes_no_track(
    settings: TrackerSettings, score: float
) -> None:
    tracker = ObjectTracker(settings)
    frames = []
    for k in range(20):
        detections = [person(100.0 + 5.0 * k, 100.0)]
        if k == 8:
            detections.append(person(500.0, 300.0, score=score))
        frames.append((k / 10.0, detections))
    updates = run(tracker, frames)

    assert all_ids(updates) == {1}
    assert [i for u in updates for i in u.appeared] == [1]
    assert all(t.box[0] < 400.0 for u in updates for t in u.tracks + u.lost_tracks)


def test_a_track_is_confirmed_only_after_enough_time() -> None:
    tracker = ObjectTracker(TrackerSettings(confirm_hits=2, confirm_s=0.3))
    appeared_at = [
        u.time
        for u in run(tracker, [(k * 0.1, [person(100.0 + k, 100.0)]) for k in range(8)])
        if u.appeared
    ]
    assert appeared_at == [pytest.approx(0.3)]


def test_weak_detections_continue_a_track_but_never_start_one() -> None:
    tracker = ObjectTracker()
    frames = [(k * 0.1, [person(100.0 + 4.0 * k, 100.0)]) for k in range(3)]
    # Then the person is seen only weakly (partly hidden), and a weak box
    # elsewhere appears for many frames.
    frames += [
        (
            k * 0.1,
            [person(100.0 + 4.0 * k, 100.0, score=0.3), person(500.0, 50.0, score=0.3)],
        )
        for k in range(3, 15)
    ]
    updates = run(tracker, frames)

    assert all_ids(updates) == {1}
    assert all(len(u.tracks) == 1 for u in updates[1:])
    assert updates[-1].tracks[0].score == pytest.approx(0.3)
    assert [i for u in updates for i in u.lost] == []


def test_detections_below_the_low_score_are_ignored() -> None:
    tracker = ObjectTracker(TrackerSettings(low_score=0.2))
    frames = [(k * 0.1, [person(100.0, 100.0)]) for k in range(3)]
    frames += [(k * 0.1, [person(100.0, 100.0, score=0.15)]) for k in range(3, 6)]
    updates = run(tracker, frames)
    assert updates[3].lost == [1]
    assert updates[-1].tracks == []


@pytest.mark.parametrize("per_class", [True, False])
def test_two_classes_do_not_merge(per_class: bool) -> None:
    # A car parks and its driver gets out; while the driver stands in front
    # of it, boxes overlapping, the car is not detected.
    tracker = ObjectTracker(TrackerSettings(per_class=per_class))
    driver = person(110.0, 90.0, w=60, h=80)
    frames = [(k * 0.1, [car(100.0, 100.0)]) for k in range(6)]
    frames += [(k * 0.1, [driver]) for k in range(6, 12)]
    frames += [(k * 0.1, [car(100.0, 100.0), driver]) for k in range(12, 15)]
    updates = run(tracker, frames)

    labels_by_id: dict[int, set[str]] = {}
    for update in updates:
        for track in update.tracks:
            labels_by_id.setdefault(track.track_id, set()).add(track.label)
    if per_class:
        assert labels_by_id == {1: {"car"}, 2: {"person"}}
        assert updates[6].lost == [1]
        assert [(t.track_id, t.label) for t in updates[-1].tracks] == [
            (1, "car"),
            (2, "person"),
        ]
    else:
        # Without per-class association the driver's box takes the car's
        # track over: the very merge that per-class tracking prevents.
        assert labels_by_id[1] == {"car", "person"}


def test_lifecycle_events_come_out_in_order() -> None:
    tracker = ObjectTracker(TrackerSettings(lost_buffer_s=1.0))
    seen = [person(100.0, 100.0)]
    script: list[tuple[float, list[Detection], dict[str, list[int]]]] = [
        (0.0, seen, {}),
        (0.1, seen, {"appeared": [1]}),
        (0.2, seen, {}),
        (0.3, [], {"lost": [1]}),
        (0.4, [], {}),
        (0.5, seen, {"recovered": [1]}),
        (0.6, [], {"lost": [1]}),
        (1.5, [], {}),
        (1.7, [], {"ended": [1]}),
        (1.8, seen, {}),
        (1.9, seen, {"appeared": [2]}),
    ]
    for time, detections, expected in script:
        update = tracker.update(detections, time)
        for kind in ("appeared", "lost", "recovered", "ended"):
            assert getattr(update, kind) == expected.get(kind, []), (time, kind)

    assert tracker.close().ended == [2]
    assert tracker.update([], 2.0).tracks == []


def test_lost_tracks_are_reported_with_their_predicted_boxes() -> None:
    tracker = ObjectTracker()
    for k in range(10):
        tracker.update([person(100.0 + 10.0 * k, 100.0)], k * 0.1)
    update = tracker.update([], 1.0)

    assert update.tracks == []
    (lost,) = update.lost_tracks
    assert lost.state is TrackState.LOST
    assert lost.last_seen == pytest.approx(0.9)
    assert lost.hits == 10
    # Moving at 100 px/s, the prediction is about one step ahead.
    assert lost.box[0] == pytest.approx(200.0, abs=5.0)


def test_tracked_objects_carry_their_history() -> None:
    tracker = ObjectTracker()
    for k in range(6):
        update = tracker.update([person(100.0, 100.0, score=0.8)], 10.0 + k * 0.5)
    (track,) = update.tracks
    assert isinstance(track, TrackedObject)
    assert track.state is TrackState.TRACKED
    assert track.box == (100.0, 100.0, 140.0, 200.0)
    assert track.score == 0.8
    assert (track.first_seen, track.last_seen, track.hits) == (10.0, 12.5, 6)
    assert track.duration == pytest.approx(2.5)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_irregular_frame_times_keep_one_track(seed: int) -> None:
    # Frames arrive with gaps from 20 ms to 0.4 s, as from a camera whose
    # rate varies; a person walking at 80 px/s keeps one id throughout.
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.uniform(0.02, 0.4, size=60))
    tracker = ObjectTracker()
    updates = [
        tracker.update([person(50.0 + 80.0 * t, 150.0)], float(t)) for t in times
    ]

    assert all_ids(updates) == {1}
    assert [i for u in updates for i in u.lost] == []
    assert all(len(u.tracks) == 1 for u in updates[1:])


@pytest.mark.parametrize("rate", [2.0, 10.0, 30.0])
@pytest.mark.parametrize(("gap", "ends"), [(1.4, False), (1.6, True)])
def test_the_lost_buffer_is_in_seconds_whatever_the_rate(
    rate: float, gap: float, ends: bool
) -> None:
    tracker = ObjectTracker(TrackerSettings(lost_buffer_s=1.5))
    for k in range(5):
        tracker.update([person(100.0, 100.0)], k / rate)
    last_seen = 4 / rate
    ended: list[int] = []
    k = 1
    while k / rate < gap:
        ended += tracker.update([], last_seen + k / rate).ended
        k += 1
    ended += tracker.update([], last_seen + gap).ended
    assert ended == ([1] if ends else [])


def test_wall_clock_datetimes_are_accepted() -> None:
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    tracker = ObjectTracker()
    for k in range(4):
        update = tracker.update(
            [person(100.0, 100.0)], start + timedelta(seconds=0.2 * k)
        )
    (track,) = update.tracks
    assert track.first_seen == start.timestamp()
    assert track.duration == pytest.approx(0.6)
    other_zone = datetime(2024, 5, 1, 14, 0, 1, tzinfo=timezone(timedelta(hours=2)))
    assert tracker.update([person(100.0, 100.0)], other_zone).time == pytest.approx(
        start.timestamp() + 1.0
    )


@pytest.mark.parametrize(
    ("bad_time", "message"),
    [
        (datetime(2024, 5, 1, 12, 0, 1), "no time zone"),
        (datetime(2024, 5, 1, 11, 59, 59, tzinfo=UTC), "before the previous update"),
        (5.0, "earlier updates used datetimes"),
    ],
)
def test_bad_times_are_refused_and_change_nothing(
    bad_time: object, message: str
) -> None:
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    tracker = ObjectTracker()
    tracker.update([person(100.0, 100.0)], start)
    tracker.update([person(100.0, 100.0)], start + timedelta(seconds=0.1))
    with pytest.raises(ValueError, match=message):
        tracker.update([], bad_time)  # type: ignore[arg-type]
    update = tracker.update([person(100.0, 100.0)], start + timedelta(seconds=0.2))
    assert [t.track_id for t in update.tracks] == [1]
    assert update.lost == []


@pytest.mark.parametrize(
    "box",
    [(10.0, 10.0, 10.0, 50.0), (10.0, 60.0, 20.0, 50.0), (0.0, 0.0, float("nan"), 5.0)],
)
def test_bad_boxes_are_refused_and_change_nothing(
    box: tuple[float, float, float, float],
) -> None:
    tracker = ObjectTracker()
    tracker.update([person(100.0, 100.0)], 0.0)
    with pytest.raises(ValueError, match="detection box"):
        tracker.update([person(100.0, 100.0), Detection(box, 0.9, "person")], 0.1)
    assert tracker.update([person(100.0, 100.0)], 0.1).appeared == [1]


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="low_score"):
        TrackerSettings(low_score=0.6, high_score=0.5)
    with pytest.raises(ValidationError):
        TrackerSettings(lost_buffer_s=-1.0)
    with pytest.raises(ValidationError):
        TrackerSettings(confirm_hits=0)


def test_ids_are_never_reused() -> None:
    tracker = ObjectTracker(TrackerSettings(lost_buffer_s=0.2))
    ids: list[int] = []
    time = 0.0
    for _ in range(3):
        for _ in range(3):
            ids += tracker.update([person(100.0, 100.0)], time).appeared
            time += 0.1
        time += 1.0
        ids_ended = tracker.update([], time).ended
        assert ids_ended == ids[-1:]
        time += 0.1
    assert ids == [1, 2, 3]


def _picture(boxes: Sequence[tuple[Detection, tuple[int, int, int]]]) -> np.ndarray:
    image = np.full((240, 640, 3), (90, 140, 90), np.uint8)
    for detection, colour in boxes:
        x1, y1, x2, y2 = (round(v) for v in detection.box)
        image[y1:y2, x1:x2] = colour
    return image


def test_colours_keep_ids_when_two_people_meet_and_part() -> None:
    # A red and a blue person walk up to each other and stand together for a
    # second, the blue one hidden behind the red one, then each goes back
    # the way they came.
    red, blue = (30, 30, 200), (200, 60, 10)
    frames = []
    for k in range(50):
        t = k / 10.0
        walk = min(t, 1.5) - max(0.0, t - 2.5)  # in for 1.5 s, stand, back out
        a = person(100.0 + 120.0 * walk, 100.0)
        b = person(460.0 - 120.0 * walk, 100.0)
        together = 1.5 <= t <= 2.5
        frames.append((t, [(a, red)] if together else [(b, blue), (a, red)]))

    def left_ids(with_pictures: bool) -> tuple[int, int]:
        tracker = ObjectTracker()
        seen = []
        for t, shown in frames:
            image = _picture(shown) if with_pictures else None
            update = tracker.update([d for d, _ in shown], t, image)
            if len(update.tracks) == 2:
                seen.append(min(update.tracks, key=lambda tr: tr.box[0]).track_id)
        return seen[0], seen[-1]

    first, last = left_ids(with_pictures=True)
    assert first == last  # the one on the left is still the red one
    # By boxes and motion alone the two cannot be told apart when they part:
    # here the red one's track goes with the blue one.
    blind_first, blind_last = left_ids(with_pictures=False)
    assert blind_first != blind_last


@pytest.mark.parametrize(
    ("new_track_max_iou", "ids"),
    [pytest.param(0.3, {1}, id="default"), pytest.param(1.0, {1, 2}, id="off")],
)
def test_a_second_box_on_a_tracked_person_makes_no_second_track(
    new_track_max_iou: float, ids: set[int]
) -> None:
    # For a second the detector also boxes the walking person's upper body.
    tracker = ObjectTracker(TrackerSettings(new_track_max_iou=new_track_max_iou))
    seen: set[int] = set()
    for k in range(30):
        whole = person(100.0 + 4.0 * k, 100.0)
        found = [whole]
        if 10 <= k < 20:
            x1, y1, x2, _ = whole.box
            found.append(Detection((x1, y1, x2, y1 + 60.0), 0.8, "person"))
        update = tracker.update(found, k / 10.0)
        seen.update(t.track_id for t in update.tracks)
    assert seen == ids


def test_someone_coming_out_from_behind_another_gets_a_track_once_apart() -> None:
    # One person stands; another steps out from behind them to the right.
    tracker = ObjectTracker()
    standing = person(200.0, 100.0)
    for k in range(10):
        tracker.update([standing], k / 10.0)
    first_apart = None
    for k in range(10, 40):
        stepping = person(200.0 + 4.0 * (k - 10), 100.0)
        update = tracker.update([standing, stepping], k / 10.0)
        if len(update.tracks) == 2 and first_apart is None:
            first_apart = stepping.box[0] - standing.box[0]
    assert first_apart is not None
    # Two 40 px wide boxes overlap at IoU 0.3 when 21.5 px apart; the new
    # track starts past that and is confirmed on the next update.
    assert 21.5 < first_apart <= 32
    assert [t.track_id for t in update.tracks] == [1, 2]


@pytest.mark.parametrize(
    ("shared_box_iou", "kept"),
    [pytest.param(0.3, True, id="default"), pytest.param(1.0, False, id="off")],
)
def test_a_box_two_people_share_does_not_change_the_colours_of_its_track(
    shared_box_iou: float, kept: bool
) -> None:
    # A red and a blue person meet, the blue one half behind the red one, and
    # stand for two seconds; the detector sees them as one box, mostly red.
    # The red one's track takes it, and keeps its own colours: the blue part
    # is not the red person's. With the rule off, they turn purple.
    red, blue = (30, 30, 200), (200, 60, 10)
    tracker = ObjectTracker(TrackerSettings(shared_box_iou=shared_box_iou))
    looks: dict[int, np.ndarray] = {}
    for k in range(36):
        t = k / 10.0
        walk = min(t, 1.5)
        a = person(100.0 + 112.0 * walk, 100.0)
        b = person(460.0 - 176.0 / 1.5 * walk, 100.0)  # stops 16 px right of red
        shown = _picture([(b, blue), (a, red)])
        if t < 1.5:
            update = tracker.update([a, b], t, shown)
            looks = {
                tr.track_id: tr.look.copy()
                for tr in tracker._tracks
                if tr.track_id is not None and tr.look is not None
            }
            if update.tracks:
                red_id = min(update.tracks, key=lambda tr: tr.box[0]).track_id
        else:
            both = Detection((a.box[0], 100.0, b.box[2], 200.0), 0.9, "person")
            update = tracker.update([both], t, shown)
            assert [tr.track_id for tr in update.tracks] == [red_id]
    (track,) = [tr for tr in tracker._tracks if tr.track_id == red_id]
    assert track.look is not None
    assert (appearance_distance(track.look, looks[red_id]) < 0.01) is kept


def test_a_person_coming_in_at_the_side_keeps_one_id_as_their_colours_show() -> None:
    # Walking in from the left edge, only a blue bag is in view at first;
    # once whole, the person is red. Colours of a box cut by the picture's
    # side are not the object's, so the colour check must not split the track.
    red, blue = (30, 30, 200), (200, 60, 10)
    tracker = ObjectTracker()
    ids: set[int] = set()
    for k in range(20):
        t = k / 10.0
        right = 20.0 + 10.0 * k
        box = Detection((max(0.0, right - 50.0), 100.0, right, 200.0), 0.9, "person")
        image = _picture([(box, blue if box.box[0] == 0.0 else red)])
        update = tracker.update([box], t, image)
        ids.update(track.track_id for track in update.tracks)
    assert len(ids) == 1


def _at_right_side(x: float) -> Detection:
    """A person whose box's left edge is at ``x``, cut by a 640 px picture's
    right side."""
    return Detection((x, 100.0, min(x + 50.0, 640.0), 200.0), 0.9, "person")


@pytest.mark.parametrize("end_at_exit", [True, False])
def test_someone_coming_in_where_another_went_out_gets_a_new_id(
    end_at_exit: bool,
) -> None:
    # A red person walks slowly out through the right side; half a second
    # later a blue one comes in at the same place. Cut by the side, neither box has
    # colours the tracker may compare.
    red, blue = (30, 30, 200), (200, 60, 10)
    tracker = ObjectTracker(TrackerSettings(end_at_exit=end_at_exit))
    for k in range(12):
        box = _at_right_side(570.0 + 4.0 * k)
        update = tracker.update([box], k / 10, _picture([(box, red)]))
    out = update.tracks[0].track_id
    went = tracker.update([], 1.2, _picture([]))
    for k in range(6):
        box = _at_right_side(614.0 - 4.0 * k)
        update = tracker.update([box], 1.6 + k / 10, _picture([(box, blue)]))
    coming = update.tracks[0].track_id
    if end_at_exit:
        assert went.lost == went.ended == [out]
        assert coming != out
    else:
        assert went.ended == [] and coming == out  # the newcomer took its id


def test_someone_missed_at_the_side_while_coming_in_keeps_their_id() -> None:
    # Walking in through the right side, cut by it, and missed by the
    # detector for a few frames: heading in, so not gone.
    red = (30, 30, 200)
    tracker = ObjectTracker()
    ids: set[int] = set()
    for k in range(12):
        box = _at_right_side(620.0 - 6.0 * k)
        shown = [] if k in (4, 5, 6) else [box]
        update = tracker.update(shown, k / 10, _picture([(box, red)][: len(shown)]))
        ids.update(track.track_id for track in update.tracks)
        assert not update.ended
    assert len(ids) == 1
