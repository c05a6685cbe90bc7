"""The read API: the GraphQL schema's resolvers over the dashboard's services (both backends)."""
