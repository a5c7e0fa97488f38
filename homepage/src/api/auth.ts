import type { ShopifyConfig } from '../types'
import { authBaseUrl, requestJson, requestNoContent } from './http'

/** Where the browser goes to start Shopify OAuth for a normalised `name.myshopify.com`. */
export function shopifyInstallUrl(shop: string): string {
  return `${authBaseUrl()}/api/v1/shopify/install?${new URLSearchParams({ shop }).toString()}`
}

/** Whether auth has Shopify credentials (and whether they are the local demo store's). */
export async function getShopifyConfig(signal?: AbortSignal): Promise<ShopifyConfig> {
  const body = await requestJson<Partial<ShopifyConfig>>('/api/v1/shopify/config', {
    service: 'auth',
    signal,
  })
  return { configured: body.configured === true, demo: body.demo === true }
}

/** Ask auth to refuse every token of this user issued until now (204). */
export function signOutEverywhere(token: string): Promise<void> {
  return requestNoContent('/api/v1/sign-out', { service: 'auth', method: 'POST', token })
}
