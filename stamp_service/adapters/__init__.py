"""Adapters to what the service talks to besides its database (docs/architecture.md)."""
