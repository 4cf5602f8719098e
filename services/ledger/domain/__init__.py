"""The ledger's domain: consent aggregates, rules and the Kazakh working-day calendar; no infrastructure."""
