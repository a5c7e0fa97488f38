// The auth service accepts exactly this shape; keep the rule identical so a shop that
// passes here is never refused there.
const SHOP_DOMAIN_RE = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/
const SUFFIX = '.myshopify.com'
export const MAX_SHOP_NAME_LENGTH = 63

export type ShopResult = { ok: true; shop: string } | { ok: false; error: string }

function hostAndPath(input: string): { host: string; path: string } {
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(input)) {
    try {
      const url = new URL(input)
      return { host: url.hostname, path: url.pathname }
    } catch {
      return { host: input, path: '' }
    }
  }
  const slash = input.indexOf('/')
  if (slash === -1) return { host: input, path: '' }
  return { host: input.slice(0, slash), path: input.slice(slash) }
}

/**
 * Turn what a merchant types ("mystore", "mystore.myshopify.com", a store or admin URL)
 * into `name.myshopify.com`, or explain why it cannot be.
 */
export function normalizeShop(raw: string): ShopResult {
  const input = raw.trim().toLowerCase()
  if (!input) return { ok: false, error: 'Enter your Shopify store name, like mystore.' }

  const { host, path } = hostAndPath(input)
  let name: string
  if (host === 'admin.shopify.com') {
    // https://admin.shopify.com/store/NAME/...
    const match = /^\/store\/([^/]+)/.exec(path)
    if (!match) return { ok: false, error: 'That admin link does not name a store.' }
    name = match[1]
  } else if (host.endsWith(SUFFIX)) {
    name = host.slice(0, -SUFFIX.length)
  } else if (host.includes('.') || host.includes(':')) {
    return {
      ok: false,
      error: 'Use your store\'s myshopify.com name (for example mystore.myshopify.com), not a custom domain.',
    }
  } else {
    name = host
  }

  if (name.length > MAX_SHOP_NAME_LENGTH) {
    return { ok: false, error: `The store name can be at most ${MAX_SHOP_NAME_LENGTH} characters.` }
  }
  const shop = `${name}${SUFFIX}`
  if (!name || !SHOP_DOMAIN_RE.test(shop)) {
    return {
      ok: false,
      error: 'A store name uses only letters, digits and hyphens, and starts with a letter or digit.',
    }
  }
  return { ok: true, shop }
}

export function isValidShopDomain(shop: string): boolean {
  return (
    SHOP_DOMAIN_RE.test(shop) && shop.length - SUFFIX.length <= MAX_SHOP_NAME_LENGTH
  )
}

/** The store's short name for headers: "cool-store" for cool-store.myshopify.com. */
export function shopName(shop: string): string {
  return shop.endsWith(SUFFIX) ? shop.slice(0, -SUFFIX.length) : shop
}
