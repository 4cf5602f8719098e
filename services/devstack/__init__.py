"""Real infrastructure on one machine without Docker: an Apache Kafka broker and a throwaway PostgreSQL.

Used by the stack command and by the test fixtures alike, so both run on the same broker settings.
"""
