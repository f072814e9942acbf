"""Redaction of secrets from headers, URLs and free text, for every place a log can go.

The client's credentials are forwarded upstream unchanged, but never stored, printed or exported:
the store, stdout, error messages and exports all see :func:`redact_headers` /
:func:`redact_query` output, and :mod:`proxy_core.log_hygiene` passes every log record through
:func:`redact_text`.

One list, :data:`CREDENTIAL_NAMES`, says which names carry credentials, whether they appear as a
header, a query parameter, a ``name=value`` or ``"name": "value"`` pair in an error message, or a
``Name: value`` header line echoed in one. Names match case-insensitively, with ``-`` and ``_``
alike (``api-key`` = ``API_KEY``), and a header's ``x-`` prefix is ignored (``x-token`` = ``token``).
To protect a new credential, add its name there, nowhere else.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping
from urllib.parse import unquote_plus

__all__ = [
    "CREDENTIAL_NAMES",
    "SECRET_HEADERS",
    "REDACTED",
    "is_credential_name",
    "is_secret_header",
    "redact_headers",
    "redact_query",
    "redact_text",
    "sent_secrets",
    "scrub_body",
]

REDACTED = "[REDACTED]"

CREDENTIAL_NAMES = frozenset(
    {
        # authorization headers and schemes
        "authorization",
        "proxy-authorization",
        "cf-aig-authorization",  # the gateway's own token
        "auth",
        "auth_token",
        "authtoken",
        "x-auth-token",
        "x-auth-key",  # Cloudflare's legacy global API key, accepted by Workers AI
        "jwt",
        # API keys
        "key",  # Google's ?key=
        "api-key",  # Azure OpenAI (header), also api_key
        "apikey",
        "x-api-key",  # Anthropic, Cartesia
        "x-goog-api-key",  # Google AI Studio
        "xi-api-key",  # ElevenLabs
        "subscription-key",
        "ocp-apim-subscription-key",  # Azure API Management
        # tokens (OAuth and the like)
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "session_token",
        "security_token",
        "x-amz-security-token",  # Bedrock session credentials
        # secrets and passwords
        "secret",
        "client_secret",
        "secret_key",
        "aws_secret_access_key",
        "private_key",
        "password",
        "passwd",
        "pwd",
        # signed URLs (AWS SigV4 presigned, Azure SAS, …)
        "signature",
        "sig",
        "x-amz-signature",
        "x-amz-credential",
        "credential",
        "credentials",
        # sessions and one-time codes
        "cookie",
        "set-cookie",
        "session",
        "sessionid",
        "session_id",
        "code",  # OAuth authorization code
    }
)
"""Every credential-carrying name (headers and query parameters alike), in its usual spelling."""

SECRET_HEADERS = CREDENTIAL_NAMES
"""The same list, under the name the header code has always used."""

_FREE_WORDS = frozenset({"code", "session"})
"""Names too common in prose to redact as ``Name: value`` or ``"name": "value"`` (``"code": 401``);
they are redacted only as ``name=value`` pairs (``?code=…``)."""


def _norm(name: str) -> str:
    return name.strip().lower().replace("-", "_")


_NORMALISED = frozenset(_norm(n) for n in CREDENTIAL_NAMES)


def is_credential_name(name: str) -> bool:
    """Whether ``name`` (a query parameter or header name) carries a credential."""
    norm = _norm(name)
    return norm in _NORMALISED or (norm.startswith("x_") and norm[2:] in _NORMALISED)


def is_secret_header(name: str) -> bool:
    return is_credential_name(name)


def redact_headers(headers: Iterable[tuple[str, str]] | Mapping[str, str]) -> dict[str, str]:
    """Headers as a plain dict (lower-case names), secret values replaced by ``[REDACTED]``."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        lower = name.lower()
        out[lower] = REDACTED if is_credential_name(lower) else value
    return out


_PARAM = re.compile(r"(^|[?&;])([^=&#;?]*)=([^&#;]*)")


def redact_query(query: str) -> str:
    """A query string with every credential parameter's value (``?key=``, ``?token=``, …) replaced.

    Names are compared after percent-decoding, so ``%74oken=`` is caught too."""
    if not query:
        return query

    def sub(m: re.Match[str]) -> str:
        name = m.group(2)
        if is_credential_name(unquote_plus(name)):
            return f"{m.group(1)}{name}={REDACTED}"
        return m.group(0)

    return _PARAM.sub(sub, query)


# -- free text -------------------------------------------------------------------------------------


def _alternation(names: Iterable[str]) -> str:
    """A regex alternation of ``names``, longest first, ``-`` and ``_`` interchangeable, ``x-`` optional."""
    parts = sorted({_norm(n) for n in names}, key=len, reverse=True)
    return "(?:x[-_])?(?:" + "|".join(re.escape(p).replace("_", "[-_]") for p in parts) + ")"


_ALL = _alternation(CREDENTIAL_NAMES)
_HEADERISH = _alternation(CREDENTIAL_NAMES - _FREE_WORDS)
_B = r"(?<![\w-])"  # a name starts here: not inside another word (``cache_key``, ``monkey``)

_TEXT_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # 'authorization': 'Bearer x'   "api_key": "x"   ('x-api-key', 'x')
    (re.compile(rf"""(?i)(['"])({_HEADERISH})\1(\s*[:,]\s*)(['"])(?:(?!\4).)*\4"""), rf"\1\2\1\3\4{REDACTED}\4"),
    # b'x-api-key sk-…'  (a raw header line in a bytes repr, with or without its colon)
    (re.compile(rf"""(?i)(\bb['"])({_HEADERISH})(?=[\s:=])[^'"]*"""), rf"\1\2: {REDACTED}"),
    # Authorization: Bearer …   x-api-key: …   (to the end of the line or of the quoted repr)
    (re.compile(rf"""(?i){_B}({_HEADERISH})(\s*:[ \t]*)(?!\[REDACTED\])[^\s'"][^\r\n'"]*"""), rf"\1\2{REDACTED}"),
    # ?key=…&token=…   password=…   (queries inside URLs, and name=value pairs)
    (re.compile(rf"""(?i){_B}({_ALL})=(?!\[REDACTED\])[^&#;\s'"<>,)\]}}]*"""), rf"\1={REDACTED}"),
    # WebSocket subprotocols carrying credentials: openai-insecure-api-key.X, xi-api-key.X, cf-aig-authorization.X
    (re.compile(r"""(?i)(?<![\w.-])([\w-]*(?:api-key|authorization|-token)\.)(?!\[REDACTED\])[^\s'",\])}]+"""),
     rf"\1{REDACTED}"),  # fmt: skip
    # Bearer tokens and Basic credentials wherever they appear
    (re.compile(r"(?i)\b(Bearer)(\s+)(?!\[REDACTED\])[^\s'\",;]+"), rf"\1\2{REDACTED}"),
    (re.compile(r"(?i)\b(Basic)(\s+)[A-Za-z0-9+/]{8,}={0,2}"), rf"\1\2{REDACTED}"),
    # provider-key shapes: OpenAI/Anthropic sk-…, Google AIza…, Groq gsk_…, xAI xai-…, Hugging Face hf_…,
    # Replicate r8_…, AWS access key ids
    (re.compile(r"(?<![A-Za-z0-9])(?:sk-|gsk_|xai-|hf_|r8_)[A-Za-z0-9_\-]{6,}"), REDACTED),
    (re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{20,}"), REDACTED),
    (re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])"), REDACTED),
)


def redact_text(text: str) -> str:
    """Free text (an error message, a log line, a traceback) with credentials replaced.

    Catches credential query parameters inside URLs and ``name=value`` pairs, ``Name: value``
    header lines (also inside byte-string reprs such as ``b'Authorization: Bearer sk-…'`` or a
    colon-less ``b'x-api-key sk-…'``), quoted ``"name": "value"`` pairs, ``Bearer …``/``Basic …``
    credentials, credential-carrying WebSocket subprotocols (``openai-insecure-api-key.X``,
    ``xi-api-key.X``, ``cf-aig-authorization.X``) and well-known provider key shapes (``sk-…``,
    ``AIza…``). Idempotent: redacting twice gives the same text."""
    if not text:
        return text
    for pattern, replacement in _TEXT_RULES:
        text = pattern.sub(replacement, text)
    return text


# -- stored bodies ---------------------------------------------------------------------------------

_REDACTED_BYTES = REDACTED.encode()
_MIN_SECRET = 8
"""Shorter header values are not searched for in bodies: too likely to match ordinary text."""
_BODY_HINTS = tuple(f'{k}"'.encode() for w in ("key", "token", "secret", "password", "authorization") for k in (w, w.capitalize()))
"""What a JSON body must contain (a credential-like member name before its closing quote) to be
worth the full pattern: the common body has none, and a ``bytes.find`` is far cheaper."""
_JSON_CREDENTIAL = re.compile(
    rb'''(?i)("(?:x[-_])?(?:api[-_]?key|key|access[-_]token|refresh[-_]token|id[-_]token|token|client[-_]secret|secret|password|authorization)"\s*:\s*)"(?:[^"\\]|\\.)*"'''
)
"""A JSON string member whose name carries a credential (``"api_key": "…"``). Bodies are matched
on fewer names than text: ``code`` or ``session`` members are ordinary content in a prompt."""


def sent_secrets(headers: Iterable[tuple[str, str]]) -> tuple[bytes, ...]:
    """The credential values a request carried in its headers — each whole value and, for
    ``Bearer x``-style values, the credential alone — that an upstream echoing them would repeat."""
    found: set[bytes] = set()
    for name, value in headers:
        if not is_credential_name(name):
            continue
        for part in (value, *value.split()[1:]):
            part = part.strip()
            if len(part) >= _MIN_SECRET:
                found.add(part.encode("utf-8", "surrogateescape"))
    return tuple(sorted(found, key=len, reverse=True))


def scrub_body(body: bytes, secrets: Iterable[bytes] = (), *, json_members: bool = False) -> bytes:
    """``body`` as it may be stored: every value in ``secrets`` replaced (an error that repeats the
    caller's key), and with ``json_members`` the string members named like credentials
    (``{"api_key": "…"}`` in a request body)."""
    for secret in secrets:
        if secret in body:
            body = body.replace(secret, _REDACTED_BYTES)
    if json_members and any(hint in body for hint in _BODY_HINTS):
        body = _JSON_CREDENTIAL.sub(rb'\1"[REDACTED]"', body)
    return body
