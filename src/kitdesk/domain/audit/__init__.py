"""The audit trail: recording operations on PHI, devices, keys and webhooks, and reading it back."""
