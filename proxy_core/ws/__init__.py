"""The WebSocket APIs: realtime (a passthrough to a provider's own socket) and non-realtime
(``universal.create`` messages answered by the same request path as HTTP)."""
