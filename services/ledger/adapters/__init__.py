"""What the ledger stands on: the event store's settings, the side tables and their Alembic migrations (tables,
migrations/), subject keys (crypto-shredding), sealing for Kafka, the signing key, consent form texts, the
relay's leadership lock and the Kazakh working-day calendar.

May import the domain (its errors and vocabulary) and services.platform; never the application or above.
"""
