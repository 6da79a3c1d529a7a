"""电子眼 in GraphQL: cameras, bookmarks of case events, evidence marks."""
