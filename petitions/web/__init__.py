"""Request plumbing: headers, client address, rate limits, errors, languages, links, logs."""
