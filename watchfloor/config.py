"""The site file: its schema, loading with line-numbered errors, and secrets."""

from __future__ import annotations

import os
import re
from datetime import time as Time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from watchfloor.detection.factory import DetectorSpec
from watchfloor.detection.filters import DetectionFilter
from watchfloor.detection.motion import MotionSettings
from watchfloor.rules.geometry import GeometryError, check_line, check_polygon
from watchfloor.tracking.identities import IdentitySettings, Topology
from watchfloor.tracking.tracker import TrackerSettings

CAMERA_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# What a security camera looks for unless told otherwise: people and vehicles.
DEFAULT_CLASSES = frozenset({"person", "bicycle", "car", "motorcycle", "bus", "truck"})
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*:)[^@\s/]*@")


def _known_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name like Europe/Paris"
        ) from exc
    return name


class SiteConfigError(ValueError):
    """The site file cannot be used; the message says where and why."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IngestSettings(_Model):
    """How camera workers talk to their streams."""

    open_timeout_s: float = Field(
        10.0, gt=0, description="Seconds to wait for a stream to open."
    )
    read_timeout_s: float = Field(
        5.0,
        gt=0,
        description="Seconds without data after which a stream counts as stalled "
        "(a stall is noticed within about twice this).",
    )
    rtsp_transport: str = Field(
        "tcp",
        pattern="^(tcp|udp)$",
        description="RTSP transport: 'tcp' (default, robust) or 'udp'.",
    )
    backoff_initial_s: float = Field(
        1.0, gt=0, description="First wait before reconnecting a failed camera."
    )
    backoff_max_s: float = Field(
        30.0, gt=0, description="Longest wait between reconnection attempts."
    )
    frame_queue: int = Field(
        1,
        ge=1,
        le=1000,
        description=(
            "Frames buffered per consumer; when a consumer is slow the oldest "
            "frame is dropped, never the stream. One keeps analysis on the "
            "newest frame, so an alert is not late by the frames queued ahead "
            "of it (bench/RESULTS.md, alert latency)."
        ),
    )


class RecordingSettings(_Model):
    """How footage is written to disk."""

    segment_s: float = Field(
        10.0,
        ge=1,
        le=3600,
        description="Target length of a recorded segment; segments are cut at "
        "the first key frame after this many seconds.",
    )
    retention_days: float = Field(
        7.0, gt=0, description="Default age after which segments are removed."
    )
    quota_gb: float | None = Field(
        None,
        gt=0,
        description="Most gigabytes of recordings kept in the media directory; "
        "the oldest segments go first. None: no quota.",
    )
    min_free_gb: float = Field(
        0.2,
        ge=0,
        description="Recording pauses while the media disk has less free space "
        "than this, and resumes when space returns.",
    )


class StorageSettings(_Model):
    """Where the media directory and the database are."""

    media: Path = Field(
        Path("media"),
        description="Directory for recordings, clips and snapshots; relative "
        "paths are relative to the site file.",
    )
    database: str | None = Field(
        None,
        description="SQLAlchemy URL of the database. Default: SQLite file "
        "'watchfloor.db' in the media directory.",
    )


class CameraConfig(_Model):
    """One camera of the site."""

    name: Annotated[str, Field(pattern=CAMERA_NAME)] = Field(
        description="Short unique name: letters, digits, '-' and '_'."
    )
    url: str = Field(
        description="Stream to analyse: rtsp://, rtsps://, http(s):// or a "
        "local video file (played at real-time pace, looping)."
    )
    record_url: str | None = Field(
        None,
        description="Stream to record, when the camera offers a main stream "
        "beside the one analysed. Default: record 'url'.",
    )
    fps: float | None = Field(
        None,
        gt=0,
        le=120,
        description="Frames per second handed to analysis. Default: every frame.",
    )
    record: bool = Field(True, description="Record this camera's footage.")
    analyse: bool = Field(
        True, description="Run detection and tracking on this camera's frames."
    )
    detect: DetectionFilter = Field(
        default_factory=lambda: DetectionFilter(classes=DEFAULT_CLASSES),
        description="Which detections this camera keeps: classes, score, box size. "
        "Default: people and vehicles of any score the detector returns.",
    )
    detect_size: int | None = Field(
        None,
        ge=32,
        description="Detector input size for this camera (a multiple of 32), "
        "overriding detector.input_size: larger finds smaller objects, slower.",
    )
    motion_gate: bool = Field(
        True,
        description="Skip detection on frames where nothing moves and nothing "
        "is tracked.",
    )
    retention_days: float | None = Field(
        None, gt=0, description="Overrides recording.retention_days."
    )

    @property
    def safe_url(self) -> str:
        """The analysis URL with any password replaced by ``***``."""
        return redact(self.url)


NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
RuleKind = Literal["restricted_area", "loitering", "line_crossing", "occupancy"]


class ZoneConfig(_Model):
    """An area of one camera's picture."""

    name: Annotated[str, Field(pattern=NAME)] = Field(description="Unique name.")
    camera: str = Field(description="The camera whose picture the zone is on.")
    polygon: list[tuple[float, float]] = Field(
        description="Corners in order, as [x, y] fractions of the image width and "
        "height (0..1, y downwards); at least 3, edges not crossing."
    )

    @model_validator(mode="after")
    def _valid_polygon(self) -> ZoneConfig:
        try:
            self.polygon = check_polygon(self.name, self.polygon)
        except GeometryError as exc:
            raise ValueError(str(exc)) from exc
        return self


class LineConfig(_Model):
    """A line across one camera's picture, for line-crossing rules."""

    name: Annotated[str, Field(pattern=NAME)] = Field(description="Unique name.")
    camera: str = Field(description="The camera whose picture the line is on.")
    points: list[tuple[float, float]] = Field(
        description="Its two ends [a, b], as [x, y] fractions of the image. "
        "Crossing 'a_to_b' is from the left of a->b to its right, as seen "
        "walking from a to b on the picture."
    )

    @model_validator(mode="after")
    def _valid_line(self) -> LineConfig:
        try:
            self.points = list(check_line(self.name, self.points))
        except GeometryError as exc:
            raise ValueError(str(exc)) from exc
        return self


class ScheduleWindow(_Model):
    """One weekly window in which a rule is armed."""

    days: list[Weekday] = Field(
        min_length=1, description="Days the window starts on: mon..sun."
    )
    start: Time = Field(description="Local start time, HH:MM.")
    end: Time = Field(
        description="Local end time, HH:MM; at or before start, the window runs "
        "past midnight into the next day."
    )


class Schedule(_Model):
    """When a rule is armed: weekly windows in a time zone."""

    timezone: str = Field(
        "UTC", description="IANA time zone of the windows, e.g. Europe/Paris."
    )
    windows: list[ScheduleWindow] = Field(
        min_length=1, description="The armed windows; outside them the rule is quiet."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _known_time_zone(value)


class RuleConfig(_Model):
    """A rule that turns what tracks do in a zone or across a line into alerts."""

    name: Annotated[str, Field(pattern=NAME)] = Field(description="Unique name.")
    kind: RuleKind = Field(
        description="restricted_area: inside for min_dwell; loitering: inside "
        "longer than limit_s; line_crossing: crossing the line in direction; "
        "occupancy: more than max_objects inside at once."
    )
    zone: str | None = Field(None, description="Zone it watches (area kinds).")
    line: str | None = Field(None, description="Line it watches (line_crossing).")
    classes: list[str] = Field(
        default_factory=lambda: ["person"], description="Object classes it applies to."
    )
    min_score: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Least detection score a track must have reached to count.",
    )
    min_dwell: float = Field(
        0.5,
        ge=0,
        description="Seconds an object must stay inside before a restricted_area "
        "alert (or occupancy must last).",
    )
    limit_s: float | None = Field(
        None, gt=0, description="Loitering: seconds inside after which it alerts."
    )
    direction: Literal["a_to_b", "b_to_a", "any"] = Field(
        "any", description="Line crossing: which way counts."
    )
    max_objects: int | None = Field(
        None, ge=0, description="Occupancy: alert when more than this many are inside."
    )
    cooldown: float = Field(
        0.0,
        ge=0,
        description="Seconds after an alert during which the same rule raises no "
        "second alert for the same track (for occupancy: at all).",
    )
    schedule: Schedule | None = Field(
        None, description="When the rule is armed; always when unset."
    )
    enabled: bool = Field(True, description="A disabled rule raises nothing.")

    @model_validator(mode="after")
    def _kind_needs(self) -> RuleConfig:
        area_kinds = ("restricted_area", "loitering", "occupancy")
        if self.kind in area_kinds and not self.zone:
            raise ValueError(f"rule {self.name!r} ({self.kind}) needs a zone")
        if self.kind == "line_crossing" and not self.line:
            raise ValueError(f"rule {self.name!r} (line_crossing) needs a line")
        if self.kind in area_kinds and self.line:
            raise ValueError(
                f"rule {self.name!r} ({self.kind}) takes a zone, not a line"
            )
        if self.kind == "line_crossing" and self.zone:
            raise ValueError(
                f"rule {self.name!r} (line_crossing) takes a line, not a zone"
            )
        if self.kind == "loitering" and self.limit_s is None:
            raise ValueError(
                f"rule {self.name!r} (loitering) needs limit_s, in seconds"
            )
        if self.kind == "occupancy" and self.max_objects is None:
            raise ValueError(f"rule {self.name!r} (occupancy) needs max_objects")
        if not self.classes:
            raise ValueError(f"rule {self.name!r} names no object classes")
        return self


class AlertSettings(_Model):
    """What every alert carries."""

    pre_roll_s: float = Field(
        5.0, ge=0, le=300, description="Seconds of footage before an alert's start."
    )
    post_roll_s: float = Field(
        10.0, ge=0, le=300, description="Seconds of footage after an alert's end."
    )


class IncidentSettings(_Model):
    """How incidents keep their evidence."""

    hold_after_close_days: float = Field(
        30.0,
        ge=0,
        description="Days after an incident is closed during which its linked "
        "footage is still kept from retention.",
    )


class WebhookConfig(_Model):
    """An HTTP endpoint that receives alerts as signed JSON."""

    url: str = Field(description="Where to POST.")
    secret: str | None = Field(
        None,
        description="Key of the HMAC-SHA256 signature sent in the "
        "X-Watchfloor-Signature header.",
    )
    timeout_s: float = Field(5.0, gt=0, description="Seconds per attempt.")
    max_attempts: int = Field(5, ge=1, le=20, description="Attempts before giving up.")


class MqttConfig(_Model):
    """An MQTT broker that receives alerts and camera status."""

    host: str = Field(description="Broker host.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port.")
    username: str | None = Field(None, description="User name, if the broker asks.")
    password: str | None = Field(None, description="Password, if the broker asks.")
    topic_prefix: str = Field("watchfloor", description="First part of every topic.")


class NotificationSettings(_Model):
    """Where alerts are pushed, besides the API's WebSocket."""

    webhooks: list[WebhookConfig] = Field(default_factory=list)
    mqtt: MqttConfig | None = None


class SiteConfig(_Model):
    """A whole site file."""

    timezone: str | None = Field(
        None,
        description=(
            "The site's IANA time zone, e.g. Europe/Paris: the console shows "
            "times in it and free-text searches read days and clock times in "
            "it. Unset: the console uses the browser's, searches use UTC. "
            "Stored times are UTC whatever it is."
        ),
    )
    storage: StorageSettings = Field(default_factory=StorageSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    recording: RecordingSettings = Field(default_factory=RecordingSettings)
    detector: DetectorSpec = Field(
        default_factory=DetectorSpec,
        description="The model every camera shares (loaded once per process).",
    )
    tracker: TrackerSettings = Field(
        default_factory=TrackerSettings, description="Per-camera tracking."
    )
    motion: MotionSettings = Field(
        default_factory=MotionSettings, description="The motion gate."
    )
    cameras: list[CameraConfig] = Field(
        default_factory=list, description="The site's cameras; may be empty."
    )
    zones: list[ZoneConfig] = Field(default_factory=list, description="Areas.")
    lines: list[LineConfig] = Field(default_factory=list, description="Lines.")
    rules: list[RuleConfig] = Field(default_factory=list, description="Rules.")
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    topology: Topology = Field(
        default_factory=Topology,
        description=(
            "Which camera leads to which and in how long, and which cameras "
            "overlap: where the same object may be seen next."
        ),
    )
    identities: IdentitySettings = Field(
        default_factory=IdentitySettings,
        description="Joining tracks of different cameras into identities.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_site_zone(cls, value: str | None) -> str | None:
        return None if value is None else _known_time_zone(value)

    @model_validator(mode="after")
    def _consistent(self) -> SiteConfig:
        for what, items in (
            ("camera", self.cameras),
            ("zone", self.zones),
            ("line", self.lines),
            ("rule", self.rules),
        ):
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    raise ValueError(f"{what} name {item.name!r} is used twice")
                seen.add(item.name)
        cameras = {c.name for c in self.cameras}
        shapes: list[ZoneConfig | LineConfig] = [*self.zones, *self.lines]
        for shape in shapes:
            if shape.camera not in cameras:
                kind = "zone" if isinstance(shape, ZoneConfig) else "line"
                raise ValueError(
                    f"{kind} {shape.name!r} is on camera {shape.camera!r}, which "
                    "the site does not have"
                )
        unknown = sorted(self.topology.cameras() - cameras)
        if unknown:
            raise ValueError(
                f"topology names camera(s) {', '.join(map(repr, unknown))}, which "
                "the site does not have"
            )
        zones = {z.name for z in self.zones}
        lines = {line.name for line in self.lines}
        for rule in self.rules:
            if rule.zone and rule.zone not in zones:
                raise ValueError(
                    f"rule {rule.name!r} names zone {rule.zone!r}, which "
                    "the site does not have"
                )
            if rule.line and rule.line not in lines:
                raise ValueError(
                    f"rule {rule.name!r} names line {rule.line!r}, which "
                    "the site does not have"
                )
        return self

    def camera(self, name: str) -> CameraConfig:
        """The camera called ``name``.

        Raises:
            SiteConfigError: No camera has that name.
        """
        for camera in self.cameras:
            if camera.name == name:
                return camera
        known = ", ".join(c.name for c in self.cameras) or "none"
        raise SiteConfigError(f"no camera named {name!r}; the site has: {known}")

    def detector_for(self, camera: CameraConfig) -> DetectorSpec:
        """The detector spec of a camera: the site's, with its own input size."""
        if camera.detect_size is None:
            return self.detector
        return self.detector.model_copy(update={"input_size": camera.detect_size})

    @property
    def media_dir(self) -> Path:
        return self.storage.media

    @property
    def database_url(self) -> str:
        if self.storage.database:
            return self.storage.database
        return f"sqlite:///{(self.storage.media / 'watchfloor.db').resolve()}"


def redact(text: str) -> str:
    """Replace every password inside URLs in ``text`` with ``***``.

    Example:
        >>> redact("rtsp://admin:secret@10.0.0.5/live")
        'rtsp://admin:***@10.0.0.5/live'
    """
    return _URL_PASSWORD.sub(r"\g<head>***@", text)


def is_local_file(url: str) -> bool:
    """Whether a camera URL names a local file rather than a network stream."""
    scheme = urlsplit(url).scheme.lower()
    return scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt")


def local_path(url: str) -> Path:
    """The filesystem path of a local-file camera URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        return Path(urlunsplit(("", "", parts.path, "", "")))
    return Path(url)


def load_site(path: Path | str, environ: dict[str, str] | None = None) -> SiteConfig:
    """Read and validate a site file.

    ``${VAR}`` (or ``${VAR:-default}``) in any string value is replaced from the
    environment. Relative paths are resolved against the site file's folder.

    Raises:
        SiteConfigError: The file is missing, is not YAML, refers to an unset
            variable or breaks the schema; the message names the key and line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SiteConfigError(f"cannot read site file {path}: {exc.strerror}") from exc
    return parse_site(text, source=str(path), base_dir=path.parent, environ=environ)


def parse_site(
    text: str,
    source: str = "<site>",
    base_dir: Path | None = None,
    environ: dict[str, str] | None = None,
) -> SiteConfig:
    """Validate site-file text; see :func:`load_site`."""
    env = os.environ if environ is None else environ
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise SiteConfigError(f"{source}: not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SiteConfigError(f"{source}: the site file must be a mapping of keys")

    lines: dict[tuple[str | int, ...], int] = {}
    if root is not None:
        _note_lines(root, (), lines)
    data = _expand_all(data, (), lines, env, source)

    try:
        site = SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise SiteConfigError(_describe(exc, source, lines, data)) from exc

    if base_dir is not None and not site.storage.media.is_absolute():
        site.storage.media = (base_dir / site.storage.media).resolve()
    if base_dir is not None:
        for camera in site.cameras:
            for attr in ("url", "record_url"):
                url = getattr(camera, attr)
                if url and is_local_file(url) and not local_path(url).is_absolute():
                    setattr(camera, attr, str((base_dir / local_path(url)).resolve()))
    return site


def _note_lines(
    node: yaml.Node,
    path: tuple[str | int, ...],
    lines: dict[tuple[str | int, ...], int],
) -> None:
    """Record the line of every key and item, for error messages."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            _note_lines(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _note_lines(item, (*path, i), lines)


def _expand_all(
    value: Any,
    path: tuple[str | int, ...],
    lines: dict[tuple[str | int, ...], int],
    env: Any,
    source: str,
) -> Any:
    """Replace ``${VAR}`` references in every string of the document."""
    if isinstance(value, dict):
        return {
            k: _expand_all(v, (*path, str(k)), lines, env, source)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _expand_all(v, (*path, i), lines, env, source) for i, v in enumerate(value)
        ]
    if isinstance(value, str):
        return _expand(value, path, lines.get(path, 0), env, source)
    return value


def _expand(
    value: str, path: tuple[str | int, ...], line: int, env: Any, source: str
) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return str(env[name])
        if default is not None:
            return default
        raise SiteConfigError(
            f"{source}, line {line}: {_dotted(path)} refers to ${{{name}}}, "
            f"which is not set in the environment"
        )

    return _ENV_REF.sub(substitute, value)


def _describe(
    exc: ValidationError,
    source: str,
    lines: dict[tuple[str | int, ...], int],
    data: Any,
) -> str:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        line = None
        for cut in range(len(loc), -1, -1):
            if loc[:cut] in lines:
                line = lines[loc[:cut]]
                break
        where = f"line {line}" if line else "top level"
        message = redact(str(error["msg"])).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (check its spelling)"
        problems.append(f"{source}, {where}: {_dotted(loc, data) or 'site'}: {message}")
    return "\n".join(problems)


def _dotted(path: tuple[Any, ...], data: Any = None) -> str:
    """``cameras[0].url``, or ``cameras['gate'].url`` when the item has a name."""
    out = ""
    node = data
    for part in path:
        if isinstance(part, int):
            name = None
            if isinstance(node, list) and part < len(node):
                item = node[part]
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    name = item["name"]
            out += f"[{name!r}]" if name else f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return out
