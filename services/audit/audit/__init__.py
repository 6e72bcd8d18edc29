"""Identity Services audit service."""
