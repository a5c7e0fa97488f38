"""The body each webhook topic must have, as Shopify documents it, checked before anything acts.

Shopify signs the body, not ``X-Shopify-Topic``, so a captured body can be resent under another
topic. The four topics HireCJ subscribes to have bodies that tell themselves apart, and each
model below accepts only its own:

- ``app/uninstalled``: the shop object (``id``, ``name``, ``myshopify_domain``, ... about sixty
  fields, more over time, so extra fields are allowed), and never the compliance topics' keys.
- ``shop/redact``: exactly ``shop_id`` and ``shop_domain``.
- ``customers/redact``: ``shop_id``, ``shop_domain``, ``customer {id, email, phone}``,
  ``orders_to_redact``.
- ``customers/data_request``: ``shop_id``, ``shop_domain``, ``orders_requested``, ``customer``,
  ``data_request {id}``.

The compliance topics forbid extra keys, so ``customers/data_request``'s body resent as
``shop/redact`` (or as ``customers/redact``) is a 400; none of them has ``myshopify_domain``, so
none passes as ``app/uninstalled``. The order lists and the data request are optional only so
that the minimal bodies Shopify's own test deliveries send are still acknowledged.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.exceptions import InvalidRequestError

APP_UNINSTALLED = "app/uninstalled"
SHOP_REDACT = "shop/redact"
CUSTOMERS_REDACT = "customers/redact"
CUSTOMERS_DATA_REQUEST = "customers/data_request"

_COMPLIANCE_KEYS = frozenset(
    {"shop_id", "shop_domain", "customer", "orders_to_redact", "orders_requested", "data_request"}
)
ShopDomain = Annotated[str, Field(min_length=1, max_length=255)]


class _Exact(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Customer(_Exact):
    id: int | None = None
    email: str | None = None
    phone: str | None = None


class DataRequest(_Exact):
    id: int


class ShopRedact(_Exact):
    shop_id: int
    shop_domain: ShopDomain


class CustomersRedact(ShopRedact):
    customer: Customer
    orders_to_redact: list[int] = Field(default_factory=list, max_length=10_000)


class CustomersDataRequest(ShopRedact):
    customer: Customer
    orders_requested: list[int] = Field(default_factory=list, max_length=10_000)
    data_request: DataRequest | None = None


class AppUninstalled(BaseModel):
    """The shop object; only the fields HireCJ reads are typed, the rest are kept as sent."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    id: int | None = None
    myshopify_domain: ShopDomain

    @model_validator(mode="before")
    @classmethod
    def _not_a_compliance_body(cls, data: Any) -> Any:
        if isinstance(data, dict) and _COMPLIANCE_KEYS & data.keys():
            raise ValueError("a compliance webhook's body is not a shop object")
        return data

    @property
    def shop_domain(self) -> str:
        return self.myshopify_domain


WebhookPayload = AppUninstalled | ShopRedact | CustomersRedact | CustomersDataRequest

MODELS: dict[str, type[BaseModel]] = {
    APP_UNINSTALLED: AppUninstalled,
    SHOP_REDACT: ShopRedact,
    CUSTOMERS_REDACT: CustomersRedact,
    CUSTOMERS_DATA_REQUEST: CustomersDataRequest,
}


def validate_payload(topic: str, data: dict[str, Any]) -> WebhookPayload | None:
    """The body as its topic's model (None for a topic HireCJ does not handle), or 400."""
    model = MODELS.get(topic)
    if model is None:
        return None
    try:
        payload: WebhookPayload = model.model_validate(data)  # type: ignore[assignment]
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise InvalidRequestError(
            f"webhook body is not a {topic} payload ({where}: {error['msg']})"
        ) from None
    return payload
