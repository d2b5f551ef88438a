"""Seed the benchmark database with set-based SQL: N tickets, each with three messages."""

import psycopg

SEED_SQL = [
    "TRUNCATE tickets_message, tickets_ticketchange, tickets_ticket, tickets_contact, tickets_tag"
    " RESTART IDENTITY CASCADE",
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
           3
    FROM generate_series(1, %(tickets)s) AS g
    """,
    "INSERT INTO tickets_tag (name) VALUES ('vip'), ('billing'), ('bug')",
    # vip on 1 ticket in 50, billing on 1 in 7, bug on 1 in 11.
    """
    INSERT INTO tickets_ticket_tags (ticket_id, tag_id)
    SELECT t.id, tag.id FROM tickets_ticket t JOIN tickets_tag tag
      ON (tag.name = 'vip' AND t.id %% 50 = 0) OR (tag.name = 'billing' AND t.id %% 7 = 0)
      OR (tag.name = 'bug' AND t.id %% 11 = 0)
    """,
    # Three messages a ticket, their words varied (and one unique tracking code each) so
    # that a body search matches some, few or one of them as real threads would.
    """
    INSERT INTO tickets_message (ticket_id, direction, channel, body, author_contact_id, author_label, created_at)
    SELECT t.id, d.direction, 'email',
           (ARRAY['Hello,', 'Hi team,', 'Good morning,', 'Dear support,'])[1 + (t.id + d.n) %% 4] || ' ' ||
           (ARRAY['the invoice still shows the old address', 'my parcel never arrived',
                  'the dashboard is blank after login', 'the export to spreadsheet times out',
                  'two factor codes arrive late', 'the mobile app drains the battery',
                  'our webhook gets a timeout', 'the printer driver fails to install',
                  'a colleague cannot see the shared folder', 'the invoice total is rounded wrongly',
                  'the password reset link expired'])[1 + (t.id * 7 + d.n * 3) %% 11] || '. ' ||
           (ARRAY['Thanks', 'Regards', 'Cheers', 'Best wishes', 'Kind regards'])[1 + (t.id + 2 * d.n) %% 5] ||
           ', ' || d.direction || ' from ' ||
           (ARRAY['Lisbon', 'Zürich', 'Montréal', 'Kraków', 'Oslo', 'Nairobi', 'Osaka', 'Quito',
                  'Tallinn', 'Auckland', 'Dakar', 'Lyon', 'Porto'])[1 + (t.id / 7 + d.n) %% 13] ||
           '. Tracking TRK' || (3 * t.id + d.n) || '.',
           CASE WHEN d.direction = 'inbound' THEN t.contact_id END, '', t.created_at + make_interval(mins => d.n)
    FROM tickets_ticket t
    CROSS JOIN (VALUES (0, 'inbound'), (1, 'outbound'), (2, 'inbound')) AS d(n, direction)
    """,
    # What tickets.search.search_vector_update writes with each message, for all at once.
    """
    UPDATE tickets_ticket t
    SET search_vector = to_tsvector('supporthub_search', t.subject || ' ' || t.description || ' ' || m.text)
    FROM (SELECT ticket_id, string_agg(body, ' ' ORDER BY created_at DESC) AS text
          FROM tickets_message GROUP BY ticket_id) AS m
    WHERE m.ticket_id = t.id
    """,
]


def seed(dsn: str, tickets: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.transaction():  # all or nothing: a failed seed leaves the last one
            for statement in SEED_SQL:
                conn.execute(statement, {"tickets": tickets, "contacts": tickets // 5 + 1})
        # As autovacuum leaves a table that has been around: statistics and a visibility map
        # (without it every index-only COUNT of a filtered list visits the heap, ~10x slower).
        conn.execute("VACUUM ANALYZE")


def ticket_count(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()
        return int(row[0]) if row else 0
