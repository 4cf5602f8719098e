"""The public contract of consent.events.v1 and the other topics: what subscribers may depend on."""
