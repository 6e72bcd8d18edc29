"""The console: the administrators' web app at /setup, talking to the other services over HTTP."""
