"""The ledger's domain: the DataSubject aggregate, the rules of the policy and the events they record.

Imports nothing but itself, the standard library and eventsourcing's Aggregate: time, the actor and the
working-day calendar come in as arguments (Context, WorkingDays).
"""
