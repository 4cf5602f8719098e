"""The projector: read models and checks built from consent.events.v1 only."""
