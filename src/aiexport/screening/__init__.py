"""Restricted-party screening (issue 8): official lists as versioned data, explained matching,
dispositions with an audit trail, and a tighten-only overlay on the licence determination."""
