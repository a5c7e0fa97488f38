"""The demo store's authorize page: what the fake Shopify shows a person before approving.

Every value from the request is HTML-escaped; the page has no script.
"""

from __future__ import annotations

import html

_SCOPE_TEXT = {
    "read_products": "See your products, collections and inventory",
    "write_products": "Change your products, collections and inventory",
    "read_orders": "See your orders and transactions",
    "write_orders": "Change your orders",
    "read_customers": "See your customers",
    "write_customers": "Change your customers",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo store: approve {app}</title>
<style>
body {{ margin: 0; font: 16px/1.45 -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  background: #f1f2f4; color: #1d1c1d; }}
.demo {{ background: #ffe98a; padding: .6rem 1rem; text-align: center; font-weight: 600; }}
main {{ max-width: 460px; margin: 2rem auto; padding: 0 1rem; }}
.card {{ background: #fff; border: 1px solid #e1e1e3; border-radius: 14px; padding: 1.4rem; }}
h1 {{ font-size: 1.3rem; margin: 0 0 .4rem; }}
.shop {{ color: #616061; margin: 0 0 1rem; overflow-wrap: anywhere; }}
ul {{ padding-left: 1.2rem; }}
li code {{ color: #616061; font-size: .85em; }}
.actions {{ display: flex; gap: .6rem; align-items: center; margin-top: 1.2rem; }}
button {{ font: inherit; font-weight: 600; border: 0; border-radius: 8px; padding: .6rem 1.3rem;
  background: #008060; color: #fff; cursor: pointer; }}
button:focus-visible {{ outline: 3px solid #8ab4f8; outline-offset: 2px; }}
</style>
</head>
<body>
<p class="demo" data-testid="demo-banner">Demo store: this is HireCJ's local stand-in for Shopify.
No real store or account is involved.</p>
<main>
<div class="card">
<h1>Install {app}?</h1>
<p class="shop" data-testid="demo-shop">on <strong>{shop}</strong></p>
<p>The app asks to:</p>
<ul data-testid="demo-scopes">{scopes}</ul>
<form method="get" action="{action}" class="actions">
{hidden}<input type="hidden" name="approve" value="1">
<button type="submit" data-testid="demo-approve" autofocus>Approve</button>
<a href="javascript:history.back()">Go back</a>
</form>
</div>
</main>
</body>
</html>
"""


def approval_page(shop: str, query: dict[str, str]) -> str:
    """The demo store's authorize page: the shop, each requested scope, an Approve button."""
    scopes = [s.strip() for s in query.get("scope", "").split(",") if s.strip()]
    items = (
        "".join(
            f"<li>{html.escape(_SCOPE_TEXT.get(scope, scope))} <code>{html.escape(scope)}</code></li>"
            for scope in scopes
        )
        or "<li>Nothing beyond its basic details</li>"
    )
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">\n'
        for k, v in query.items()
        if k != "approve"
    )
    return _PAGE.format(
        app="HireCJ",
        shop=html.escape(shop),
        scopes=items,
        action=html.escape(f"/{shop}/admin/oauth/authorize"),
        hidden=hidden,
    )
