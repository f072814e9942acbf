"""The Bedrock family: Amazon Bedrock's runtime API and its binary event-stream framing."""

from proxy_core.providers.bedrock.family import BedrockFamily

__all__ = ["BedrockFamily"]
