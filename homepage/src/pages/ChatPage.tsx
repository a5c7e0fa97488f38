import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { Link, useNavigate, useParams } from 'react-router'
import { WORKFLOW, type SocketFactory } from '../api/chatSocket'
import { AccountDetails } from '../components/AccountDetails'
import { ConnectShopify } from '../components/ConnectShopify'
import { ConversationSidebar } from '../components/ConversationSidebar'
import { DrawerToggle } from '../components/DrawerToggle'
import { ShopBadge } from '../components/ShopBadge'
import { SlackChat } from '../components/SlackChat'
import { useDocumentTitle } from '../hooks/useDocumentTitle'
import { useMediaQuery } from '../hooks/useMediaQuery'
import { liveEntryOf } from '../lib/liveChats'
import type { OAuthReturn } from '../lib/oauthReturn'
import {
  currentConversationId,
  isConversationId,
  loadLiveChats,
  loadMerchantId,
  loadUserId,
  rememberLiveChat,
  setCurrentConversationId,
  startNewConversationId,
} from '../lib/storage'
import { useSession } from '../session/sessionContext'
import type { ChatConfig, ChatMessage, ConversationSummary } from '../types'

interface ChatPageProps {
  oauthReturn: OAuthReturn
  onOAuthHandled: () => void
  socketFactory?: SocketFactory
  navigate?: (url: string) => void
}

export const WIDE_LAYOUT = '(min-width: 1024px)'

export function ChatPage({ oauthReturn, onOAuthHandled, socketFactory, navigate }: ChatPageProps) {
  const { session, signOut, signOutNotice, dismissSignOutNotice } = useSession()
  const routeNavigate = useNavigate()
  const { conversationId: routeId } = useParams()
  const [conversationId, setConversationId] = useState(() =>
    isConversationId(routeId) && setCurrentConversationId(routeId) ? routeId.toLowerCase() : currentConversationId(),
  )
  // Bumped to reconnect to the same conversation (continuing one that just ended).
  const [generation, setGeneration] = useState(0)
  const [oauthErrorDismissed, setOAuthErrorDismissed] = useState(false)
  const [drawerOpen, setDrawerOpen] = useState(false)
  const [liveChats, setLiveChats] = useState<ConversationSummary[]>(() => loadLiveChats())
  const wide = useMediaQuery(WIDE_LAYOUT)
  useDocumentTitle('Chat')

  // A window widened past the drawer's breakpoint shows the sidebar itself; start closed again.
  useEffect(() => {
    if (wide) setDrawerOpen(false)
  }, [wide])

  // Opening /chat/:id (from the sidebar, the history or a transcript) continues that chat here.
  useEffect(() => {
    if (isConversationId(routeId) && routeId.toLowerCase() !== conversationId && setCurrentConversationId(routeId)) {
      setConversationId(routeId.toLowerCase())
    }
    // Only a change of address moves the chat; the chat's own moves leave the address alone.
  }, [routeId])

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
    if (routeId) routeNavigate('/chat')
  }, [routeId, routeNavigate])
  const continueHere = useCallback(() => {
    setCurrentConversationId(conversationId)
    nextIdRef.current = null
    setGeneration((n) => n + 1)
  }, [conversationId])
  const handleSignOut = useCallback(async () => {
    await signOut()
    nextIdRef.current = null
    setConversationId(startNewConversationId())
    if (routeId) routeNavigate('/chat')
  }, [signOut, routeId, routeNavigate])

  const handleMessages = useCallback(
    (messages: ChatMessage[]) => {
      const entry = liveEntryOf(conversationId, messages)
      if (entry) setLiveChats(rememberLiveChat(entry))
    },
    [conversationId],
  )

  const pendingOAuth = oauthReturn.kind === 'complete' ? oauthReturn.completion : null
  const banner = (
    <>
      {oauthReturn.kind === 'error' && !oauthErrorDismissed && (
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
      )}
      {signOutNotice && (
        <div className="notice notice--info" role="status" data-testid="signed-out-notice">
          <span>{signOutNotice}</span>
          <button type="button" className="link-button" onClick={dismissSignOutNotice}>
            Dismiss
          </button>
        </div>
      )}
    </>
  )

  const menuItems = session && (
    <>
      <Link to={`/history/${encodeURIComponent(session.userId)}`} className="menu__item" data-testid="history-button">
        Conversation history
      </Link>
      <section className="menu__section" aria-label="Account details">
        <h2 className="menu__heading">Account details</h2>
        <AccountDetails session={session} />
      </section>
      <button type="button" className="menu__item menu__item--danger" data-testid="sign-out" onClick={() => void handleSignOut()}>
        Sign out
      </button>
    </>
  )

  return (
    <div className="app-layout">
      <ConversationSidebar
        session={session}
        currentId={conversationId}
        liveEntries={liveChats}
        onNewChat={startNew}
        drawer={!wide}
        open={drawerOpen}
        onClose={() => setDrawerOpen(false)}
      />
      {!wide && drawerOpen && <div className="drawer-backdrop" onClick={() => setDrawerOpen(false)} />}
      <main className="chat-page">
        <SlackChat
          key={`${conversationId}:${generation}`}
          config={config}
          token={session?.token ?? null}
          pendingOAuth={pendingOAuth}
          onOAuthSent={onOAuthHandled}
          onNewConversation={startNew}
          onEnded={handleEnded}
          onContinue={continueHere}
          onMessagesChange={handleMessages}
          headerStart={<DrawerToggle open={drawerOpen} onToggle={() => setDrawerOpen((v) => !v)} />}
          headerActions={
            session ? <ShopBadge shop={session.shop} /> : <ConnectShopify navigate={navigate} placement="popover" />
          }
          menuItems={menuItems}
          banner={banner}
          socketFactory={socketFactory}
        />
      </main>
    </div>
  )
}
