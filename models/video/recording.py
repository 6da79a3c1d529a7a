"""A camera's recording as an HLS playlist (RFC 8216) whose segments carry
``#EXT-X-PROGRAM-DATE-TIME``: the instant each segment starts. An instant of the supervised world
maps to an offset into the recording by the segment that holds it, so a recorder that restarted
(a gap, ``#EXT-X-DISCONTINUITY``) still places every instant where the player will show it.

Pure functions over the playlist's text: reading it (a file or a URL) is the caller's I/O."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from esupervision.models.base import utc


@dataclass(frozen=True)
class Segment:
    """One media segment: when it starts (its program date time), how long it plays, and where
    it starts on the player's timeline (seconds from the start of the playlist)."""

    starts_at: datetime
    duration: float
    offset: float

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(seconds=self.duration)


@dataclass(frozen=True)
class Recording:
    segments: tuple[Segment, ...]

    @property
    def starts_at(self) -> datetime | None:
        return self.segments[0].starts_at if self.segments else None

    @property
    def ends_at(self) -> datetime | None:
        return self.segments[-1].ends_at if self.segments else None

    def offset_at(self, at: datetime) -> float | None:
        """Seconds into the recording (the player's ``currentTime``) at which instant ``at`` was
        filmed; ``None`` when no segment holds it (before, after or in a gap)."""
        at = utc(at)
        for segment in self.segments:
            if segment.starts_at <= at < segment.ends_at:
                return round(segment.offset + (at - segment.starts_at).total_seconds(), 3)
        return None


def _program_date_time(text: str) -> datetime:
    # ISO 8601 as HLS writes it: 2026-12-08T10:00:00.000+0800 (ffmpeg) or ...+08:00 or ...Z.
    value = text.strip().replace("Z", "+00:00")
    if len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():
        value = value[:-2] + ":" + value[-2:]
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"EXT-X-PROGRAM-DATE-TIME without a zone: {text!r}")
    return utc(parsed)


def parse_playlist(text: str) -> Recording:
    """The segments of a media playlist with their instants. A segment without a program date
    time of its own follows the one before it (RFC 8216 §4.3.2.6); segments before the first
    program date time cannot be placed in time and are skipped (their seconds still count on the
    player's timeline). Raises ``ValueError`` for a text that is no media playlist."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise ValueError("not an HLS playlist (no #EXTM3U)")
    segments: list[Segment] = []
    offset = 0.0
    duration: float | None = None
    stamped: datetime | None = None    # the next segment's own program date time
    following: datetime | None = None  # where the segment after the last placed one starts
    for line in lines[1:]:
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",", 1)[0])
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            stamped = _program_date_time(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-DISCONTINUITY") and not line.startswith("#EXT-X-DISCONTINUITY-"):
            following = None   # after a break the next instant must be stated again
        elif not line.startswith("#"):
            if duration is None:
                raise ValueError(f"segment {line!r} without #EXTINF")
            starts_at = stamped or following
            if starts_at is not None:
                segments.append(Segment(starts_at=starts_at, duration=duration, offset=round(offset, 3)))
                following = starts_at + timedelta(seconds=duration)
            offset += duration
            duration, stamped = None, None
    return Recording(segments=tuple(segments))
