"""Centers, departments, windows, staff and items in GraphQL."""
