"""Evidence for regulators and auditors: signed evidence bundles and the check that the event store and
consent.events.v1 hold the same events.

Built on the application and the adapters; independent of reports/; no web or Kafka framework.
"""
