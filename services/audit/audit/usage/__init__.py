"""API usage counters per application, kept by the consumer."""
