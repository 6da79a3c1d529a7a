"""Logging in (staff, applicants), tokens and department systems' API keys in GraphQL."""
