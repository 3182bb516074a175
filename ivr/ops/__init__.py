"""What operators run: the account import, metrics and demo data."""
