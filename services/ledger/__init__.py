"""The ledger: the only writer of the consent history."""
