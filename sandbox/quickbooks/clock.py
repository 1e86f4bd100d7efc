"""Company-local timestamps in the shapes QBO prints (offset, optional millis)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone


def company_tz(offset: str) -> timezone:
    """`-07:00` -> a fixed-offset tz; QBO stamps every object with the company's offset."""
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset[1:].split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def now(offset: str) -> datetime:
    return datetime.now(company_tz(offset)).replace(microsecond=0)


def stamp(moment: datetime) -> str:
    """`MetaData` timestamps: second precision with offset, e.g. 2015-07-23T11:07:55-07:00."""
    return moment.replace(microsecond=0).isoformat()


def response_time(offset: str) -> str:
    """The top-level `time` of every JSON body carries milliseconds."""
    moment = datetime.now(company_tz(offset))
    return moment.isoformat(timespec="milliseconds")


def epoch_millis() -> int:
    """The gateway's lowercase fault envelope uses epoch milliseconds for `time`."""
    return int(time.time() * 1000)


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_timestamp(text: str, offset: str) -> datetime | None:
    """Accepts full timestamps and bare dates (midnight company time), as QBO queries do."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=company_tz(offset))
