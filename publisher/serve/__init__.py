"""publisher serve: the HTTP front door to the same workflow as the command line."""
