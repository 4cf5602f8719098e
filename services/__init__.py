"""The consent ledger's services: the ledger (the only writer), the projector, and local infrastructure."""
