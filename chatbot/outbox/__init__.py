"""A durable outbox: every external write is stored first, then sent with retries."""
