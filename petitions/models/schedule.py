"""One row per periodic task: when it last ran, and who holds it now (a lease).

Several jobs workers on several machines all wake up for the schedule; a conditional UPDATE on
this row (lease expired and the task due) lets exactly one of them run the task. A runner that
dies mid-task loses its lease when it expires, and the next due check runs the task again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from petitions.extensions import Base
from petitions.models.columns import UTCDateTime


class ScheduledRun(Base):
    __tablename__ = "scheduled_runs"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    runner: Mapped[str | None] = mapped_column(String(120))
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A short summary of the last run ("closed 2 letter(s)") or the error's class name.
    last_outcome: Mapped[str | None] = mapped_column(String(300))
