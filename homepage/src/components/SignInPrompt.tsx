import { Link } from 'react-router'
import { ConnectShopify } from './ConnectShopify'

interface SignInPromptProps {
  expired: boolean
}

/** Shown instead of history when there is no token, or the server rejected it (401). */
export function SignInPrompt({ expired }: SignInPromptProps) {
  return (
    <div className="panel" role={expired ? 'alert' : undefined} data-testid={expired ? 'session-expired' : 'signed-out'}>
      <h2>{expired ? 'Your sign-in has expired — sign in again' : 'Sign in to see your conversations'}</h2>
      <p>
        {expired
          ? 'For your security, sign-ins last a limited time. Connect your Shopify store again to see your history.'
          : 'Connect your Shopify store to keep and review your conversations with CJ.'}
      </p>
      <div className="panel__actions">
        <ConnectShopify label={expired ? 'Sign in again with Shopify' : 'Connect Shopify'} />
        <Link to="/chat" className="button button--ghost">
          Back to chat
        </Link>
      </div>
    </div>
  )
}
