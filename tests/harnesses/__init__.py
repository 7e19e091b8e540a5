"""Live harnesses: the real servers and processes some tests drive (the portal's production stack,
network namespaces with nftables, Postfix and Exim, Dovecot, the load run), apart from the tests."""
