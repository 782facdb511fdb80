"""How data moves in and out of the federation: the hub's HTTP client for nodes and file import."""
