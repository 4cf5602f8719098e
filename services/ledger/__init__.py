"""The ledger: the only writer of the consent history. Its rooms, from the inside out (each may import only
the ones below it; the import contracts in pyproject.toml check it):

- `domain/`: the DataSubject aggregate, its rules and events; the standard library and eventsourcing only.
- `adapters/`: what the ledger stands on: the event store, subject keys, sealing, signing, form texts, the
  relay's leadership lock, the Kazakh calendar.
- `application/`: the use cases: the Ledger application (load, decide, save once per command id), the
  command registry and the one runner of commands, the scheduler, the outbox read by the relay.
- `evidence/`, `reports/`: what regulators and subjects get: signed bundles and the store/topic check; the
  access report and the answer to an access request with it.
- `bootstrap.py`: the composition root that builds all of it from `settings.py`.
- `entrypoints/`: the HTTP API, the Kafka command consumer, the relay, the scheduler's loop and the CLI;
  the only modules that import FastAPI, FastStream, aiokafka or uvicorn.
"""
