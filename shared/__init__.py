"""Code that at least two Identity Services use. Imports no service package."""
