"""Django's PostgreSQL backend, with a health check that costs no round trip when idle.

CONN_HEALTH_CHECKS makes Django run `SELECT 1` before the first query of each request, so
that a persistent connection the server has closed (a restart, pg_terminate_backend, an
idle-session timeout) is replaced rather than failing the request. That round trip was a
tenth of a ticket read's CPU, app and database together. A server that
closes a connection sends an error and then end-of-file, both of which make the socket
readable; so an idle connection whose socket has nothing to read has not been closed by the
server, and the round trip is skipped. Anything to read, or a connection not idle, gets
Django's `SELECT 1` as before. A silent network partition is caught by neither check (the
`SELECT 1` would hang just as the request's own query does).
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status == pq.TransactionStatus.IDLE:
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN)
            if not poller.poll(0):
                return True
        return super().is_usable()
