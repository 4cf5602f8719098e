"""The ledger's HTTP API: the app (app), the command routes read from the registry (commands), the access
report (reports) and the evidence routes (evidence)."""
