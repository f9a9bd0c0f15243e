"""The demo ICS: one command from a fresh clone to a populated, signed-in-able ipmo."""
