"""The persistent data model: SQLAlchemy ORM classes and Alembic migrations."""

from watchfloor.models.base import Base, UTCDateTime
from watchfloor.models.recording import Clip, Hold, Segment

__all__ = ["Base", "Clip", "Hold", "Segment", "UTCDateTime"]
