"""HireCJ's shared package: what the auth and agents services both rely on."""
