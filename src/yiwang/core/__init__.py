"""The kernel: audit chain, personal data, ids, scoping, events, errors. No domain."""
