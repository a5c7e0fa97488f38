import { authBaseUrl } from './http'

/** Where the browser goes to start Shopify OAuth for a normalised `name.myshopify.com`. */
export function shopifyInstallUrl(shop: string): string {
  return `${authBaseUrl()}/api/v1/shopify/install?${new URLSearchParams({ shop }).toString()}`
}
