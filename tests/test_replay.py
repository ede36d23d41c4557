"""Replay and evaluation on real, labelled footage, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from watchfloor.cli import app
from watchfloor.tracking.evaluation import read_mot_file, score_sequence

runner = CliRunner()
pytestmark = pytest.mark.slow


@pytest.fixture
def tud(test_data: Path) -> Path:
    sequence = test_data / "TUD-Campus"
    if not (sequence / "video.mp4").is_file():
        pytest.skip(f"TUD-Campus not found in {test_data}")
    return sequence


def test_eval_scores_a_labelled_sequence(tud: Path, tmp_path: Path) -> None:
    tracks = tmp_path / "tracks.txt"
    result = runner.invoke(
        app, ["eval", str(tud), "--json", "--tracks-out", str(tracks)]
    )
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output[result.output.index("{") :])

    # Floors well under what the default detector reaches (MOTA 0.69,
    # AP50 0.79 when measured), so that a broken stage fails loudly.
    assert scores["frames"] == 71
    assert scores["mota"] >= 0.55
    assert scores["idf1"] >= 0.6
    assert scores["ap50"] >= 0.6
    assert scores["precision"] >= 0.85
    # The written tracks score the same again.
    rescored = score_sequence(tud / "gt" / "gt.txt", tracks)
    assert rescored.mota == pytest.approx(scores["mota"], abs=1e-9)


def test_replay_writes_motchallenge_tracks(tud: Path, tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "cameras:\n  - name: campus\n    url: unused.mp4\n"
        "    detect: {classes: [person]}\n"
    )
    tracks = tmp_path / "tracks.txt"
    result = runner.invoke(
        app,
        [
            "replay",
            str(site),
            "campus",
            str(tud / "video.mp4"),
            "--tracks-out",
            str(tracks),
            "--fps",
            "12.5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "36 of 71 frames analysed" in result.output

    rows = read_mot_file(tracks)
    assert rows
    frames = {row.frame for row in rows}
    # Every other frame, numbered from 1 as the video's index plus one.
    assert frames <= set(range(1, 72, 2))
    line = tracks.read_text().splitlines()[0].split(",")
    assert len(line) == 10 and line[7:] == ["-1", "-1", "-1"]
    scores = score_sequence(tud / "gt" / "gt.txt", rows, frames=range(1, 72, 2))
    assert scores.mota >= 0.45


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["eval", "{tmp}"], "has no video.* file"),
        (["replay", "{site}", "campus", "{tmp}/none.mp4"], "no such video file"),
        (["replay", "{site}", "gate", "{tmp}/none.mp4"], "no camera named 'gate'"),
    ],
)
def test_replay_and_eval_refuse_bad_input(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("cameras:\n  - {name: campus, url: x.mp4}\n")
    filled = [a.format(tmp=tmp_path, site=site) for a in args]
    result = runner.invoke(app, filled)
    assert result.exit_code != 0
    assert expected in result.output
