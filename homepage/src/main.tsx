import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { consumeOAuthReturn } from './lib/oauthReturn'
import { saveSession } from './lib/storage'
import './styles.css'

// Before anything renders: read the OAuth return and scrub the token from the address bar.
const oauthReturn = consumeOAuthReturn(window.location, window.history, (completion) =>
  saveSession({
    userId: completion.userId,
    token: completion.token,
    merchantId: completion.merchantId,
    shop: completion.shop,
  }),
)

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App initialOAuthReturn={oauthReturn} />
  </StrictMode>,
)
