"""HTTP plumbing every blueprint shares: errors, negotiation, caching and validators, common and
security headers, the access log, the response cache."""
