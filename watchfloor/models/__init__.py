"""The persistent data model: SQLAlchemy ORM classes and Alembic migrations."""

from watchfloor.models.base import Base, UTCDateTime
from watchfloor.models.recording import Clip, Hold, Segment
from watchfloor.models.tracks import Event, Track

__all__ = ["Base", "Clip", "Event", "Hold", "Segment", "Track", "UTCDateTime"]
