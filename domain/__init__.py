"""Forebyg's domain: collaboration forums and the cases they handle.

Pure: the standard library and ``eventsourcing.domain`` only.
"""
