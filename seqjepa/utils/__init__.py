"""Small helpers every layer may use: atomic file writes and hashing, logging and progress bars."""
