"""The ledger's use cases. `registry` declares every command once (model, scope, HTTP path, Kafka, events,
use case); `commands.Commands` runs one, or many together (`batch`); `group_commit` writes concurrent HTTP
commands in shared commits; `ledger.Ledger` loads, decides and saves once per command id (the
only place idempotency lives). Also the scheduler's deadlines, the outbox the relay reads, the translator to
the public envelope, subject ids and the history view.

May import the domain, the adapters, schemas/ and services.platform; no web or Kafka framework.
"""
