import { useCallback, useMemo, useRef, useState } from 'react'
import { WORKFLOW, type SocketFactory } from '../api/chatSocket'
import { ConnectShopify } from '../components/ConnectShopify'
import { ConversationHistory } from '../components/ConversationHistory'
import { SlackChat } from '../components/SlackChat'
import type { OAuthReturn } from '../lib/oauthReturn'
import {
  clearSession,
  currentConversationId,
  loadMerchantId,
  loadSession,
  loadUserId,
  startNewConversationId,
} from '../lib/storage'
import type { ChatConfig, Session } from '../types'

interface ChatPageProps {
  oauthReturn: OAuthReturn
  onOAuthHandled: () => void
  socketFactory?: SocketFactory
  navigate?: (url: string) => void
}

export function ChatPage({ oauthReturn, onOAuthHandled, socketFactory, navigate }: ChatPageProps) {
  const [session, setSession] = useState<Session | null>(() => loadSession())
  const [conversationId, setConversationId] = useState(() => currentConversationId())
  const [oauthErrorDismissed, setOAuthErrorDismissed] = useState(false)

  const config: ChatConfig = useMemo(
    () => ({
      workflow: WORKFLOW,
      conversationId,
      merchantId: session?.merchantId ?? loadMerchantId(),
      userId: session?.userId ?? loadUserId(),
    }),
    [conversationId, session],
  )

  // Once a conversation ends, the tab's saved id moves on at once, so a reload opens a fresh
  // conversation instead of resuming the ended one; the ended one stays on screen until then.
  const nextIdRef = useRef<string | null>(null)
  const handleEnded = useCallback(() => {
    nextIdRef.current = startNewConversationId()
  }, [])
  const startNew = useCallback(() => {
    const next = nextIdRef.current ?? startNewConversationId()
    nextIdRef.current = null
    setConversationId(next)
  }, [])
  const signOut = useCallback(() => {
    clearSession()
    setSession(null)
    setConversationId(startNewConversationId())
  }, [])

  const pendingOAuth = oauthReturn.kind === 'complete' ? oauthReturn.completion : null
  const banner =
    oauthReturn.kind === 'error' && !oauthErrorDismissed ? (
      <div className="notice notice--error" role="alert" data-testid="oauth-error">
        <span>
          <strong>Shopify was not connected.</strong> {oauthReturn.message}
        </span>
        <button
          type="button"
          className="link-button"
          onClick={() => {
            setOAuthErrorDismissed(true)
            onOAuthHandled()
          }}
        >
          Dismiss
        </button>
      </div>
    ) : null

  const headerActions = (
    <>
      {session && (
        <span className="user-badge" title={session.shop ?? undefined}>
          <span className="user-badge__label">Signed in as</span>{' '}
          <code data-testid="user-id">{session.userId}</code>
          {session.shop && <span className="user-badge__shop"> · {session.shop}</span>}
        </span>
      )}
      <ConnectShopify navigate={navigate} />
      <ConversationHistory userId={session?.userId ?? null} token={session?.token ?? null} />
      {session && (
        <button type="button" className="button button--ghost" data-testid="sign-out" onClick={signOut}>
          Sign out
        </button>
      )}
    </>
  )

  return (
    <main className="chat-page">
      <SlackChat
        key={conversationId}
        config={config}
        token={session?.token ?? null}
        pendingOAuth={pendingOAuth}
        onOAuthSent={onOAuthHandled}
        onNewConversation={startNew}
        onEnded={handleEnded}
        headerActions={headerActions}
        banner={banner}
        socketFactory={socketFactory}
      />
    </main>
  )
}
