"""How the world reaches the ledger: the HTTP API (http/), the Kafka command consumer (kafka), the relay to
consent.events.v1 (relay), the scheduler's loop (scheduler), what runs beside the HTTP API (background) and
the CLI commands (cli).

Thin: they parse, call one use case and map its errors. Everything is built by services.ledger.bootstrap.
The only modules of the ledger that import FastAPI, FastStream, aiokafka or uvicorn.
"""
