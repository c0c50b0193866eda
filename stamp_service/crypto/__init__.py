"""Adapters for key material: the key ring (files + database) and signers."""
