"""Numbers and names both services agree on (the contract fixes most of them)."""

from typing import Final

AUTH_PORT: Final = 8103
AGENTS_PORT: Final = 8000
HOMEPAGE_PORT: Final = 3456

REDIS_SESSION_TTL: Final = 86400
MAX_MESSAGE_CHARS: Final = 8000
DEFAULT_WORKFLOW: Final = "shopify_onboarding"

TOKEN_ISSUER: Final = "hirecj-auth"
TOKEN_AUDIENCE: Final = "hirecj-agents"
TOKEN_ALGORITHM: Final = "HS256"

USER_ID_PREFIX: Final = "usr_"
MERCHANT_ID_PREFIX: Final = "merchant_"
SHOP_SUFFIX: Final = ".myshopify.com"
