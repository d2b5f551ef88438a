"""Seed the benchmark database with set-based SQL (a million tickets in well under a minute)."""

import psycopg

SEED_SQL = [
    "TRUNCATE tickets_message, tickets_ticketchange, tickets_ticket, tickets_contact RESTART IDENTITY CASCADE",
    """
    INSERT INTO tickets_contact (name, email, phone, created_at, updated_at)
    SELECT 'Customer ' || g, 'customer' || g || '@example.com', NULL, now(), now()
    FROM generate_series(1, %(contacts)s) AS g
    """,
    """
    INSERT INTO tickets_ticket (reference, subject, description, status, priority, channel, contact_id,
                                created_at, updated_at, sla_breached, first_response_breached,
                                resolution_breached, message_count)
    SELECT 'SH-' || (1000 + g),
           (ARRAY['Cannot log in', 'Refund request', 'Printer on fire', 'Invoice is wrong',
                  'App crashes on start', 'Password reset mail missing', 'Feature question'])[1 + g %% 7]
             || ' #' || g,
           'Customer report ' || g || ': ' ||
           (ARRAY['the checkout page shows an error', 'charged twice for the subscription',
                  'smoke comes out of the device', 'the VAT number is missing',
                  'it crashes after the update'])[1 + g %% 5],
           (ARRAY['new', 'open', 'pending', 'resolved', 'closed'])[1 + g %% 5],
           1 + g %% 4,
           (ARRAY['email', 'chat', 'phone', 'web', 'api'])[1 + g %% 5],
           1 + g %% %(contacts)s,
           now() - make_interval(secs => g),
           now() - make_interval(secs => g),
           g %% 17 = 0,
           false,
           g %% 17 = 0,
           2
    FROM generate_series(1, %(tickets)s) AS g
    """,
    """
    INSERT INTO tickets_message (ticket_id, direction, channel, body, author_contact_id, created_at)
    SELECT t.id, d.direction, 'email', 'Message ' || d.direction || ' for ticket ' || t.id,
           CASE WHEN d.direction = 'inbound' THEN t.contact_id END, t.created_at
    FROM tickets_ticket t CROSS JOIN (VALUES ('inbound'), ('outbound')) AS d(direction)
    """,
]


def seed(dsn: str, tickets: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in SEED_SQL:
            conn.execute(statement, {"tickets": tickets, "contacts": tickets // 5 + 1})
        # As autovacuum leaves a table that has been around: statistics and a visibility map
        # (without it every index-only COUNT of a filtered list visits the heap, ~10x slower).
        conn.execute("VACUUM ANALYZE")


def ticket_count(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()
        return int(row[0]) if row else 0
