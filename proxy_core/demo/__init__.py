"""The demo: an embedded mock provider and the traffic that feeds it (``--demo``); never on a real request path."""
