"""What helps a letter travel: share links, the social card, the QR code and the poster."""
