"""Tenders in GraphQL: stages, bids (sealed until opening), red flags, OCDS."""
