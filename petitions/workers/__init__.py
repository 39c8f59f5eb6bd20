"""What runs outside a request: outbox delivery, the jobs queue, periodic work."""
