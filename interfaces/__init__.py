"""Adapters: the web app, the scheduler and the command line. Parse, call, present."""
