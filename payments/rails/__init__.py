"""Bank rails: where bank debits go (a sandbox, a NACHA file for the utility's bank, Stripe)."""
