import { useEffect, useRef, type ReactNode } from 'react'
import type { SocketFactory } from '../api/chatSocket'
import { useChatSocket, type ConnectionStatus } from '../hooks/useChatSocket'
import type { ChatConfig, OAuthCompletion } from '../types'
import { MessageBubble } from './MessageBubble'
import { MessageInput } from './MessageInput'
import { TypingIndicator } from './TypingIndicator'

export type { ChatConfig } from '../types'

interface SlackChatProps {
  config: ChatConfig
  /** The saved bearer token; sent inside `start`, never in the socket URL. */
  token: string | null
  /** Set right after an OAuth return; sent once as `oauth_complete`. */
  pendingOAuth?: OAuthCompletion | null
  onOAuthSent?: () => void
  onNewConversation: () => void
  onEnded?: () => void
  /** Extra header controls (Connect Shopify, history, the signed-in user). */
  headerActions?: ReactNode
  /** Banner above the messages (e.g. a failed OAuth return). */
  banner?: ReactNode
  socketFactory?: SocketFactory
}

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  connecting: 'Connecting…',
  open: 'Online',
  reconnecting: 'Reconnecting…',
  ended: 'Conversation ended',
}

export function SlackChat({
  config,
  token,
  pendingOAuth,
  onOAuthSent,
  onNewConversation,
  onEnded,
  headerActions,
  banner,
  socketFactory,
}: SlackChatProps) {
  const chat = useChatSocket({
    config,
    token,
    pendingOAuth,
    onOAuthSent,
    onEnded,
    socketFactory,
  })
  const listRef = useRef<HTMLOListElement>(null)
  const ended = chat.status === 'ended'

  useEffect(() => {
    const list = listRef.current
    if (list) list.scrollTop = list.scrollHeight
  }, [chat.messages, chat.waiting, chat.error, chat.notice, ended])

  // A list that gets shorter (a phone turned sideways, a resized window) keeps its scroll
  // offset and hides the newest messages; stay at the bottom unless the reader scrolled up.
  useEffect(() => {
    const list = listRef.current
    if (!list || typeof ResizeObserver === 'undefined') return
    let pinned = true
    const onScroll = () => {
      pinned = list.scrollHeight - list.scrollTop - list.clientHeight < 48
    }
    const observer = new ResizeObserver(() => {
      if (pinned) list.scrollTop = list.scrollHeight
    })
    list.addEventListener('scroll', onScroll, { passive: true })
    observer.observe(list)
    return () => {
      list.removeEventListener('scroll', onScroll)
      observer.disconnect()
    }
  }, [])

  return (
    <section className="chat" aria-label="Chat with CJ">
      <header className="chat__header">
        <div className="chat__title">
          <span className="avatar avatar--large" aria-hidden="true">
            CJ
          </span>
          <div>
            <h1 className="chat__name">CJ</h1>
            <p className={`chat__status chat__status--${chat.status}`} data-testid="connection-status">
              <span className="status-dot" aria-hidden="true" />
              {STATUS_TEXT[chat.status]}
            </p>
          </div>
        </div>
        <div className="chat__actions">
          {headerActions}
          <button
            type="button"
            className="button button--ghost"
            data-testid="new-conversation"
            onClick={onNewConversation}
          >
            New conversation
          </button>
          {!ended && (
            <button
              type="button"
              className="button button--danger-ghost"
              data-testid="end-chat"
              onClick={chat.endConversation}
              disabled={chat.status !== 'open'}
            >
              End chat
            </button>
          )}
        </div>
      </header>

      {banner}
      {chat.status === 'reconnecting' && (
        <p className="notice notice--info" role="status" data-testid="reconnecting">
          Connection lost. Reconnecting
          {chat.reconnectInMs ? ` in ${Math.ceil(chat.reconnectInMs / 1000)} s` : ''}… your
          conversation will pick up where it left off.
        </p>
      )}

      <ol className="chat__messages" ref={listRef} aria-live="polite" data-testid="message-list">
        {chat.messages.length === 0 && !chat.waiting && (
          <li className="chat__empty">Say hello to CJ to get started.</li>
        )}
        {chat.messages.map((message) => (
          <MessageBubble key={message.id} message={message} />
        ))}
        {chat.waiting && <TypingIndicator />}
      </ol>

      {chat.notice && (
        <p className={`notice notice--${chat.notice.kind}`} role="status" data-testid="oauth-notice">
          {chat.notice.text}
        </p>
      )}
      {chat.error && (
        <div className="notice notice--error" role="alert" data-testid="chat-error">
          <span>{chat.error}</span>
          <button type="button" className="link-button" onClick={chat.dismissError}>
            Dismiss
          </button>
        </div>
      )}

      {ended ? (
        <div className="chat__ended" data-testid="conversation-ended">
          <p>This conversation has ended.</p>
          <button
            type="button"
            className="button button--primary"
            data-testid="start-new-conversation"
            onClick={onNewConversation}
          >
            Start a new conversation
          </button>
        </div>
      ) : (
        <MessageInput
          disabled={chat.status !== 'open'}
          placeholder={chat.status === 'open' ? 'Message CJ…' : 'Connecting to CJ…'}
          onSend={chat.sendMessage}
        />
      )}
    </section>
  )
}
