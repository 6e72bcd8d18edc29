"""Platform settings (`/console/api/platform`): the console's own table, and branding."""
