"""Identity Services auth service."""
