"""Where the OAuth calls may go over plain HTTP: decided per connection, not per process.

oauthlib refuses plain HTTP unless ``OAUTHLIB_INSECURE_TRANSPORT`` is set in the process
environment, which would lift the check for every connection, thread and library at
once, real Intuit accounts included. The product never sets it. Instead, oauthlib's
check (as requests-oauthlib and oauthlib's own URL builder call it) also passes plain
HTTP while an OAuth call of a ``local`` connection (a stand-in of Intuit, such as this
project's sandbox) runs, in that thread or task only. Production and Intuit-sandbox
connections cannot be local and their URLs must be https on intuit.com (see
``config.connections``), so for them nothing changes: HTTPS or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import oauthlib.oauth2.rfc6749.parameters as oauthlib_parameters
import requests_oauthlib.oauth2_session as oauth2_session
from oauthlib.oauth2.rfc6749.utils import is_secure_transport

from accounting_sync.config.connections import QuickBooksConfig

_local_call: ContextVar[bool] = ContextVar("accounting_sync_local_oauth_call", default=False)


def _secure_or_local(uri: str) -> bool:
    """oauthlib's own rule, plus plain HTTP inside ``oauth_calls`` of a local connection."""
    return is_secure_transport(uri) or (_local_call.get() and uri.lower().startswith("http://"))


# The two places oauthlib's transport check is looked up at call time.
oauth2_session.is_secure_transport = _secure_or_local
oauthlib_parameters.is_secure_transport = _secure_or_local


@contextmanager
def oauth_calls(config: QuickBooksConfig) -> Iterator[None]:
    """Make OAuth calls for this connection: plain HTTP passes only if it is local."""
    token = _local_call.set(config.environment == "local")
    try:
        yield
    finally:
        _local_call.reset(token)
