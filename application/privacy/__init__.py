"""Privacy: per-subject keys with crypto-shredding, the access log, retention."""
