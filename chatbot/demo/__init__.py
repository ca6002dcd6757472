"""`chatbot demo`: the digest of a generated team, with no credentials and no network."""
