"""Complaints, consultations, evaluations and the public overview in GraphQL."""
