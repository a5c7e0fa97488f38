import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react'
import type { SocketFactory } from '../api/chatSocket'
import { useChatSocket, type ConnectionStatus } from '../hooks/useChatSocket'
import type { ChatConfig, ChatMessage, OAuthCompletion } from '../types'
import { HeaderMenu } from './HeaderMenu'
import { MessageInput } from './MessageInput'
import { MessageList } from './MessageList'
import { RestoredNotice } from './RestoredNotice'

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
  /** Offered on an ended conversation: keep writing in it. */
  onContinue?: () => void
  /** Told about the messages on screen (the sidebar lists the current chat before it is archived). */
  onMessagesChange?: (messages: ChatMessage[]) => void
  /** Before the title: the phone's button that opens the conversation drawer. */
  headerStart?: ReactNode
  /** After the title: the store's name, or Connect Shopify. */
  headerActions?: ReactNode
  /** Extra entries of the header's menu (history, account details, sign out). */
  menuItems?: ReactNode
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

/** Puts a message that did not go through back in the box, ahead of anything typed since. */
function withReturned(draft: string, text: string): string {
  return draft.trim() ? `${text}\n\n${draft}` : text
}

/** Takes a returned message out of the box again when it turned out to be stored. */
function withoutReturned(draft: string, text: string): string {
  if (draft === text) return ''
  return draft.startsWith(`${text}\n\n`) ? draft.slice(text.length + 2) : draft
}

export function SlackChat({
  config,
  token,
  pendingOAuth,
  onOAuthSent,
  onNewConversation,
  onEnded,
  onContinue,
  onMessagesChange,
  headerStart,
  headerActions,
  menuItems,
  banner,
  socketFactory,
}: SlackChatProps) {
  const [draft, setDraft] = useState('')
  const onUnsent = useCallback((text: string) => setDraft((d) => withReturned(d, text)), [])
  const onStoredAfterAll = useCallback((text: string) => setDraft((d) => withoutReturned(d, text)), [])
  const chat = useChatSocket({
    config,
    token,
    pendingOAuth,
    onOAuthSent,
    onEnded,
    onUnsent,
    onStoredAfterAll,
    socketFactory,
  })
  const listRef = useRef<HTMLOListElement>(null)
  const ended = chat.status === 'ended'

  useEffect(() => {
    onMessagesChange?.(chat.messages)
  }, [chat.messages, onMessagesChange])

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
        {headerStart}
        <div className="chat__title">
          <span className="avatar avatar--large" aria-hidden="true">
            CJ
          </span>
          <div className="chat__title-text">
            <h1 className="chat__name">CJ</h1>
            <p className={`chat__status chat__status--${chat.status}`} data-testid="connection-status">
              <span className="status-dot" aria-hidden="true" />
              {STATUS_TEXT[chat.status]}
            </p>
          </div>
        </div>
        <div className="chat__actions">
          {headerActions}
          <HeaderMenu>
            <button type="button" className="menu__item" data-testid="menu-new-chat" onClick={onNewConversation}>
              New chat
            </button>
            {!ended && (
              <button
                type="button"
                className="menu__item"
                data-testid="end-chat"
                onClick={chat.endConversation}
                disabled={chat.status !== 'open'}
              >
                End this chat
              </button>
            )}
            {menuItems}
          </HeaderMenu>
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
      {chat.restored && <RestoredNotice restored={chat.restored} onDismiss={chat.dismissRestored} />}

      <MessageList ref={listRef} messages={chat.messages} waiting={chat.waiting} />

      {chat.notice && (
        <p
          className={chat.notice.kind === 'success' ? 'visually-hidden' : `notice notice--${chat.notice.kind}`}
          role="status"
          data-testid="oauth-notice"
        >
          {chat.notice.text}
        </p>
      )}
      {(chat.error || chat.unsent) && (
        <div className="notice notice--error" role="alert" data-testid="chat-error">
          <span>
            {chat.error}
            {chat.unsent && (
              <span data-testid="unsent-notice">
                {chat.error ? ' ' : ''}Your message was not sent; it is back in the message box.
              </span>
            )}
          </span>
          <button type="button" className="link-button" onClick={chat.dismissError}>
            Dismiss
          </button>
        </div>
      )}

      {ended ? (
        <div className="chat__ended" data-testid="conversation-ended">
          <p>This conversation has ended.</p>
          <div className="chat__ended-actions">
            {onContinue && (
              <button type="button" className="button button--secondary" data-testid="continue-ended" onClick={onContinue}>
                Keep writing here
              </button>
            )}
            <button
              type="button"
              className="button button--primary"
              data-testid="start-new-conversation"
              onClick={onNewConversation}
            >
              Start a new conversation
            </button>
          </div>
        </div>
      ) : (
        <MessageInput
          value={draft}
          onChange={setDraft}
          disabled={chat.status !== 'open'}
          placeholder={chat.status === 'open' ? 'Message CJ…' : 'Connecting to CJ…'}
          onSend={chat.sendMessage}
        />
      )}
    </section>
  )
}
