"""End-to-end tests: the platform fixtures are in tests/platform_fixtures.py (shared with security tests)."""
