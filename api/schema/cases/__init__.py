"""Cases in GraphQL: types, lists, mutations, reports of department systems, the compiled fast
path of case pages, and the notices of a case."""
