import { useId, useState, type FormEvent } from 'react'
import { shopifyInstallUrl } from '../api/auth'
import { normalizeShop } from '../lib/shop'

interface ConnectShopifyProps {
  /** Text of the button that opens the form. */
  label?: string
  /** Start with the form open (e.g. on a "sign in again" screen). */
  initiallyOpen?: boolean
  /** Where to send the browser; tests replace it. */
  navigate?: (url: string) => void
}

const defaultNavigate = (url: string) => window.location.assign(url)

export function ConnectShopify({
  label = 'Connect Shopify',
  initiallyOpen = false,
  navigate = defaultNavigate,
}: ConnectShopifyProps) {
  const [open, setOpen] = useState(initiallyOpen)
  const [value, setValue] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const inputId = useId()
  const errorId = useId()

  const handleSubmit = (event: FormEvent) => {
    event.preventDefault()
    const result = normalizeShop(value)
    if (!result.ok) {
      setError(result.error)
      return
    }
    setError(null)
    setBusy(true)
    navigate(shopifyInstallUrl(result.shop))
  }

  return (
    <div className={`connect${open ? ' connect--open' : ''}`}>
      {!open && (
        <button
          type="button"
          className="button button--shopify"
          data-testid="connect-shopify"
          onClick={() => setOpen(true)}
        >
          {label}
        </button>
      )}
      {open && (
        <form className="connect__form" onSubmit={handleSubmit} noValidate>
          <label htmlFor={inputId} className="connect__label">
            Your Shopify store
          </label>
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
            <button
              type="submit"
              className="button button--shopify"
              data-testid="connect-submit"
              disabled={busy}
            >
              {busy ? 'Connecting…' : 'Connect'}
            </button>
            <button
              type="button"
              className="button button--ghost"
              data-testid="connect-cancel"
              onClick={() => {
                setOpen(false)
                setError(null)
                setBusy(false)
              }}
            >
              Cancel
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
