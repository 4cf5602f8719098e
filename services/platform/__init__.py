"""What every service shares that is not the ledger's business: settings sources and health."""
