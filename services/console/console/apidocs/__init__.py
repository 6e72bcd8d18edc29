"""The API docs section, built from the services' live OpenAPI documents."""
