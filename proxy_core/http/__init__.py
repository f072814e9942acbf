"""The HTTP face of the request path: thin aiohttp handlers over admission and the forwarder."""
