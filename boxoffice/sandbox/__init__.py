"""The sandbox payment provider's own side: its API, its hosted Pay/Decline page and its books."""
