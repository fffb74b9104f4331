"""Read models: tables built from the event log, each advanced with its tracking position in
the same transaction as its rows, so a crash never duplicates nor skips an event."""
