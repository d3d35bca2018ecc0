"""Where images go and what charts say about it: rewrite rules, hint evaluation, the one plan."""
