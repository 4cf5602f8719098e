"""Crypto-shredding of personal data: per-subject keys, wrapped by a master key, destroyed on erasure."""
