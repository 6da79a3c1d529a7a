"""Urges, orders, rules, statistics, accountability and published reports in GraphQL."""
