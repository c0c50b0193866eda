"""API contracts (pydantic): request bodies, queries and responses shared by web and CLI."""
