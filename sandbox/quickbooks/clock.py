"""Company-local timestamps in the shapes QBO prints (offset, optional millis).

QBO stamps objects in the company's time zone *with* daylight saving: recorded
responses of one company show `-08:00` in November and `-07:00` in April and July.
The clock can be moved forward (`/_sandbox/clock`), so tests cross a DST change.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

FIXED_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")


def company_tz(zone: str) -> tzinfo:
    """An IANA zone (`America/Los_Angeles`, with DST) or a fixed offset such as `-07:00`."""
    if not FIXED_OFFSET.match(zone):
        return ZoneInfo(zone)
    sign = -1 if zone.startswith("-") else 1
    hours, minutes = zone[1:].split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


class CompanyClock:
    """The sandbox's idea of now, in the company's zone; `shift` moves it for tests."""

    def __init__(self, zone: str) -> None:
        self.tz = company_tz(zone)
        self.shift = 0.0

    def timestamp(self) -> float:
        """Seconds since the epoch on the sandbox's (possibly moved) clock."""
        return time.time() + self.shift

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), self.tz)

    def stamp_now(self) -> datetime:
        return self.now().replace(microsecond=0)

    def response_time(self) -> str:
        """The top-level `time` of every JSON body carries milliseconds."""
        return self.now().isoformat(timespec="milliseconds")

    def epoch_millis(self) -> int:
        """The gateway's lowercase fault envelope uses epoch milliseconds for `time`."""
        return int(self.timestamp() * 1000)


def stamp(moment: datetime) -> str:
    """`MetaData` timestamps: second precision with offset, e.g. 2015-07-23T11:07:55-07:00."""
    return moment.replace(microsecond=0).isoformat()


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_timestamp(text: str, tz: tzinfo) -> datetime | None:
    """Accepts full timestamps and bare dates (midnight company time), as QBO queries do."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)
