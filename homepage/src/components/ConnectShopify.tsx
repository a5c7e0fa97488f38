import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useId, useState, type FormEvent } from 'react'
import { getShopifyConfig, shopifyInstallUrl } from '../api/auth'
import { asApiError } from '../api/http'
import { normalizeShop } from '../lib/shop'
import type { ShopifyConfig } from '../types'

interface ConnectShopifyProps {
  /** Text of the button that opens the form. */
  label?: string
  /** Start with the form open (e.g. on a "sign in again" screen). */
  initiallyOpen?: boolean
  /** `popover`: the form floats under the button (the chat header stays one row). */
  placement?: 'inline' | 'popover'
  /** Where to send the browser; tests replace it. */
  navigate?: (url: string) => void
}

const defaultNavigate = (url: string) => window.location.assign(url)

export const SHOPIFY_CONFIG_KEY = ['shopify-config'] as const

/**
 * Ask auth whether Connect Shopify can work before sending the browser there, so a missing
 * Shopify app is explained here instead of on a bare error page. An auth without the route
 * (404) is simply tried.
 */
async function loadConfig(signal?: AbortSignal): Promise<ShopifyConfig> {
  try {
    return await getShopifyConfig(signal)
  } catch (failure) {
    if (asApiError(failure).status === 404) return { configured: true, demo: false }
    throw failure
  }
}

function NotConfigured() {
  return (
    <div className="connect__explain" role="alert" data-testid="shopify-not-configured">
      <p>
        <strong>Connecting a Shopify store is not set up here yet.</strong>
      </p>
      <p>
        This HireCJ is missing its Shopify app's credentials. Whoever runs it sets both{' '}
        <code>SHOPIFY_CLIENT_ID</code> and <code>SHOPIFY_CLIENT_SECRET</code> (or, on a
        development machine, runs <code>make dev</code> without them to get the demo store).
      </p>
      <p>You can keep chatting with CJ meanwhile; nothing you write is lost.</p>
    </div>
  )
}

export function ConnectShopify({
  label = 'Connect Shopify',
  initiallyOpen = false,
  placement = 'inline',
  navigate = defaultNavigate,
}: ConnectShopifyProps) {
  const queryClient = useQueryClient()
  const [open, setOpen] = useState(initiallyOpen)
  const [value, setValue] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const inputId = useId()
  const errorId = useId()
  const config = useQuery({
    queryKey: SHOPIFY_CONFIG_KEY,
    queryFn: ({ signal }) => loadConfig(signal),
    enabled: open,
    staleTime: 60_000,
  })
  const notConfigured = config.data?.configured === false

  const close = () => {
    setOpen(false)
    setError(null)
    setBusy(false)
  }

  const handleSubmit = async (event: FormEvent) => {
    event.preventDefault()
    const result = normalizeShop(value)
    if (!result.ok) {
      setError(result.error)
      return
    }
    setError(null)
    setBusy(true)
    let current: ShopifyConfig
    try {
      current = await queryClient.fetchQuery({
        queryKey: SHOPIFY_CONFIG_KEY,
        queryFn: ({ signal }) => loadConfig(signal),
        staleTime: 60_000,
      })
    } catch (failure) {
      setBusy(false)
      setError(`Could not reach HireCJ's sign-in service (${asApiError(failure).message}) Please try again.`)
      return
    }
    if (!current.configured) {
      setBusy(false)
      return
    }
    navigate(shopifyInstallUrl(result.shop))
  }

  return (
    <div className={`connect connect--${placement}${open ? ' connect--open' : ''}`}>
      {(!open || placement === 'popover') && (
        <button
          type="button"
          className="button button--shopify"
          data-testid="connect-shopify"
          aria-expanded={open}
          onClick={() => (open ? close() : setOpen(true))}
        >
          {label}
        </button>
      )}
      {open && (
        <form className="connect__form" onSubmit={(event) => void handleSubmit(event)} noValidate>
          {notConfigured ? (
            <NotConfigured />
          ) : (
            <>
              <label htmlFor={inputId} className="connect__label">
                Your Shopify store
              </label>
              {config.data?.demo && (
                <p className="connect__demo" data-testid="demo-store-note">
                  <span className="tag">Demo</span> This is a local demo store: no real Shopify
                  account is used. Type any store name, then approve on the demo page.
                </p>
              )}
              <div className="connect__row">
                <input
                  id={inputId}
                  className="connect__input"
                  data-testid="shop-input"
                  type="text"
                  inputMode="url"
                  autoComplete="off"
                  autoCapitalize="none"
                  spellCheck={false}
                  placeholder="mystore or mystore.myshopify.com"
                  value={value}
                  aria-invalid={error ? true : undefined}
                  aria-describedby={error ? errorId : undefined}
                  onChange={(event) => {
                    setValue(event.target.value)
                    if (error) setError(null)
                  }}
                  autoFocus
                />
                <button type="submit" className="button button--shopify" data-testid="connect-submit" disabled={busy}>
                  {busy ? 'Connecting…' : 'Connect'}
                </button>
              </div>
            </>
          )}
          <div className="connect__row connect__row--end">
            <button type="button" className="button button--ghost" data-testid="connect-cancel" onClick={close}>
              {notConfigured ? 'Close' : 'Cancel'}
            </button>
          </div>
          {error && (
            <p id={errorId} className="form-error" role="alert" data-testid="shop-error">
              {error}
            </p>
          )}
        </form>
      )}
    </div>
  )
}
