import type { OAuthCompletion } from '../types'
import { isValidShopDomain } from './shop'

export type OAuthReturn =
  | { kind: 'none' }
  | { kind: 'complete'; completion: OAuthCompletion }
  | { kind: 'error'; reason: string; message: string }

/** Query parameters the auth redirect adds; removed from the address bar once read. */
export const OAUTH_PARAMS = ['oauth', 'is_new', 'merchant_id', 'user_id', 'shop', 'reason', 'error'] as const

const USER_ID_RE = /^usr_[A-Za-z0-9_-]{1,64}$/
const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const MERCHANT_ID_RE = /^[A-Za-z0-9_.-]{1,100}$/

const REASON_MESSAGES: Record<string, string> = {
  access_denied: 'The Shopify connection was cancelled. You can try again whenever you like.',
  invalid_shop: 'That store name was not accepted. Check it and try again.',
  invalid_hmac: 'Shopify\'s reply could not be verified. Please try connecting again.',
  invalid_state: 'The sign-in link expired or was already used. Please connect again.',
  expired: 'The sign-in took too long. Please connect again.',
  missing_token: 'Shopify connected, but the sign-in did not finish (no token came back). Please connect again.',
  missing_user: 'Shopify connected, but the sign-in did not finish (no user came back). Please connect again.',
  invalid_token: 'The sign-in came back damaged. Please connect again.',
  invalid_user: 'The sign-in came back with an unexpected account id. Please connect again.',
}

export function oauthErrorMessage(reason: string): string {
  return (
    REASON_MESSAGES[reason] ??
    'We could not connect your Shopify store. Please try again.'
  )
}

function fail(reason: string): OAuthReturn {
  return { kind: 'error', reason, message: oauthErrorMessage(reason) }
}

function fragmentParams(hash: string): URLSearchParams {
  return new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash)
}

/**
 * Read what the auth service's redirect put on `/chat`: `?oauth=complete&is_new&merchant_id
 * &user_id&shop` plus `#token=JWT`, or `?oauth=error&reason=...`. Pure: no storage, no history.
 */
export function parseOAuthReturn(search: string, hash: string): OAuthReturn {
  const params = new URLSearchParams(search)
  const status = params.get('oauth')
  if (status === null) return { kind: 'none' }
  if (status !== 'complete') {
    const reason = (params.get('reason') || params.get('error') || 'unknown').slice(0, 100)
    return fail(reason)
  }

  const token = fragmentParams(hash).get('token')
  const userId = params.get('user_id')
  if (!userId) return fail('missing_user')
  if (!USER_ID_RE.test(userId)) return fail('invalid_user')
  if (!token) return fail('missing_token')
  if (!JWT_RE.test(token)) return fail('invalid_token')

  const merchantId = params.get('merchant_id')
  const shop = params.get('shop')
  return {
    kind: 'complete',
    completion: {
      isNew: params.get('is_new') === 'true',
      merchantId: merchantId && MERCHANT_ID_RE.test(merchantId) ? merchantId : null,
      userId,
      shop: shop && isValidShopDomain(shop) ? shop : null,
      token,
    },
  }
}

/** The same address without the OAuth parameters and without any fragment. */
export function urlWithoutOAuth(pathname: string, search: string): string {
  const params = new URLSearchParams(search)
  for (const name of OAUTH_PARAMS) params.delete(name)
  const rest = params.toString()
  return rest ? `${pathname}?${rest}` : pathname
}

/**
 * Run once at page load, before the router reads the address: parse the OAuth return, save
 * the session when it completed, and take the parameters and the `#token` fragment out of
 * the address bar (and so out of history, bookmarks and referrers).
 */
export function consumeOAuthReturn(
  location: Pick<Location, 'pathname' | 'search' | 'hash'>,
  history: Pick<History, 'replaceState' | 'state'>,
  save: (completion: OAuthCompletion) => void,
): OAuthReturn {
  const result = parseOAuthReturn(location.search, location.hash)
  const hasToken = fragmentParams(location.hash).has('token')
  if (result.kind === 'complete') save(result.completion)
  if (result.kind !== 'none' || hasToken) {
    history.replaceState(history.state, '', urlWithoutOAuth(location.pathname, location.search))
  }
  return result
}
