"""Identity Services OTP delivery service."""
