-- The auth service's durable records: one row per installed Shopify shop, and the webhook
-- deliveries already handled. PostgreSQL is the source of truth, so a Redis flush loses
-- neither a merchant nor its user.
-- No BEGIN/COMMIT here: the migration runner wraps each file and its record in one transaction.

CREATE TABLE IF NOT EXISTS merchants (
    merchant_id VARCHAR(100) PRIMARY KEY,
    shop_domain VARCHAR(255) UNIQUE NOT NULL,
    user_id VARCHAR(50) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes TEXT NOT NULL DEFAULT '',
    -- Fernet ciphertext (TOKEN_ENCRYPTION_KEY); NULL once the app is uninstalled.
    access_token_encrypted TEXT,
    installed_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    uninstalled_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX IF NOT EXISTS idx_merchants_user_id ON merchants (user_id);

-- Shopify delivers a webhook at least once; its X-Shopify-Webhook-Id is stored in the same
-- transaction as the handling, so a repeated delivery is acknowledged and not handled twice.
CREATE TABLE IF NOT EXISTS shopify_webhook_deliveries (
    webhook_id VARCHAR(255) PRIMARY KEY,
    topic VARCHAR(100) NOT NULL,
    shop_domain VARCHAR(255) NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX IF NOT EXISTS idx_webhook_deliveries_received_at
    ON shopify_webhook_deliveries (received_at);
