"""The subject access report (policy §5): built from the history, rendered in Kazakh, Russian and English,
and the use case that answers an access request with it.

Built on the application and the adapters; independent of evidence/; no web or Kafka framework.
"""
