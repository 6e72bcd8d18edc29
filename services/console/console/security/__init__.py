"""Sign-in sessions, CSRF and Origin checks, and the security headers of every console page."""
