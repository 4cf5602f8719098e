"""The survival run: a steady load on the cluster stack while brokers, ledgers, projectors and PostgreSQL fail.

`consent-ledger chaos --rounds N` (scripts/chaos) starts three brokers, two ledgers and two projectors
on PostgreSQL, sends commands over HTTP and Kafka, and in every round kills -9 one broker, the
ledger instance whose relay is active, a projector while it sends a card-block cascade, and restarts
PostgreSQL, each at a random moment. Afterwards it counts what the system acknowledged and lost,
duplicate events on consent.events.v1, and read-model rows that differ from a replay of the topic.
"""
