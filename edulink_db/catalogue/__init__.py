"""The catalogue: which services exist, what they own, and what they may read of each other."""
