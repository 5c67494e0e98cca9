"""Publishing: what analysts read is replaced whole, never written in place."""
