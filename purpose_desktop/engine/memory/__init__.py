"""Memory: seven kinds of lessons, their lifecycle, immune scan, replay A/B evidence, approval and credit."""
