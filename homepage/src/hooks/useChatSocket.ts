import { useCallback, useEffect, useRef, useState } from 'react'
import {
  SOCKET_OPEN,
  browserSocketFactory,
  chatSocketUrl,
  parseServerFrame,
  type ClientFrame,
  type ServerFrame,
  type SocketFactory,
  type SocketLike,
} from '../api/chatSocket'
import {
  appendUnique,
  countUserSaying,
  markUnrecovered,
  toScreen,
  withLostMessages,
  type KeptMessage,
} from '../lib/messages'
import { newMessageId } from '../lib/ids'
import { loadLocalCopy, saveLocalCopy } from '../lib/storage'
import type { ChatConfig, ChatMessage, OAuthCompletion, StoredMessage } from '../types'

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'ended'

export interface Notice {
  kind: 'success' | 'info' | 'error'
  text: string
}

/**
 * The server's copy lacks messages this tab showed: it restored the conversation from its archive
 * (`fromArchive`), or it no longer knew the conversation at all and started it anew (Redis lost
 * it before it was ever archived).
 */
export interface RestoredNotice {
  lost: ChatMessage[]
  archivedAt: string | null
  fromArchive: boolean
}

export interface ChatSocketOptions {
  config: ChatConfig
  token: string | null
  pendingOAuth?: OAuthCompletion | null
  onOAuthSent?: () => void
  /** Called once when the conversation ends (by the user or the server). */
  onEnded?: () => void
  /** A message that did not go through (an error frame, a dropped socket): its text, to keep. */
  onUnsent?: (text: string) => void
  /** A text given to onUnsent that the server had stored after all (it dropped after storing). */
  onStoredAfterAll?: (text: string) => void
  socketFactory?: SocketFactory
}

export interface ChatSocketState {
  messages: ChatMessage[]
  status: ConnectionStatus
  waiting: boolean
  error: string | null
  notice: Notice | null
  /** Set when a message went back to the message box instead of being sent. */
  unsent: boolean
  restored: RestoredNotice | null
  reconnectInMs: number | null
  sendMessage: (text: string) => boolean
  endConversation: () => void
  dismissError: () => void
  dismissRestored: () => void
}

const MAX_BACKOFF_MS = 15_000
const PING_INTERVAL_MS = 25_000
const TYPING_TIMEOUT_MS = 60_000

export function backoffDelay(attempt: number): number {
  return Math.min(1000 * 2 ** attempt, MAX_BACKOFF_MS)
}

let localCounter = 0

/** What a dropped socket left unconfirmed: each text, and how often the user had said it before. */
interface Unconfirmed {
  text: string
  before: number
}

/**
 * One conversation over the agents WebSocket: sends `start` on every (re)connect, so a dropped
 * socket resumes the same conversation, and `oauth_complete` once after an OAuth return.
 *
 * A message the user sends is `pending` until CJ answers; an `error` frame or a dropped socket
 * hands its text back (`onUnsent`), so nothing typed is lost. The tab keeps its own copy of
 * what it showed (sessionStorage); when the server says it `restored` the conversation from
 * the archive, or starts anew (`resumed: false`) one this tab had said something in, messages of
 * that copy the server no longer has stay on screen, marked `lost`.
 */
export function useChatSocket(options: ChatSocketOptions): ChatSocketState {
  const { config } = options
  const factory = options.socketFactory ?? browserSocketFactory
  const [messages, setMessages] = useState<ChatMessage[]>([])
  const [status, setStatus] = useState<ConnectionStatus>('connecting')
  const [waiting, setWaiting] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [notice, setNotice] = useState<Notice | null>(null)
  const [unsent, setUnsent] = useState(false)
  const [restored, setRestored] = useState<RestoredNotice | null>(null)
  const [reconnectInMs, setReconnectInMs] = useState<number | null>(null)
  // True once the server answered this socket's `start` with `conversation_started`.
  const [ready, setReady] = useState(false)

  const socketRef = useRef<SocketLike | null>(null)
  const endedRef = useRef(false)
  const oauthSentRef = useRef<OAuthCompletion | null>(null)
  // The screen's messages, readable synchronously by the socket callbacks.
  const messagesRef = useRef<ChatMessage[]>([])
  // Only after the first `conversation_started` is the tab's copy worth overwriting.
  const hydratedRef = useRef(false)
  const unconfirmedRef = useRef<Unconfirmed[]>([])
  // The socket callbacks outlive renders; read the newest props through this ref.
  const latest = useRef(options)
  latest.current = options

  const updateMessages = useCallback(
    (next: ChatMessage[]) => {
      messagesRef.current = next
      setMessages(next)
      if (hydratedRef.current) saveLocalCopy(config.conversationId, next)
    },
    [config.conversationId],
  )

  // Unsent texts given back to the user, with the id they were first sent under.
  const retryIdsRef = useRef(new Map<string, string>())

  const sendFrame = useCallback((frame: ClientFrame): boolean => {
    const socket = socketRef.current
    if (!socket || socket.readyState !== SOCKET_OPEN) return false
    socket.send(JSON.stringify(frame))
    return true
  }, [])

  /** Take pending messages off the screen and give their text back; true if there were any. */
  const returnPending = useCallback(
    (cause: 'error' | 'drop'): boolean => {
      const pending = messagesRef.current.filter((message) => message.pending)
      if (pending.length === 0) return false
      const confirmed = messagesRef.current.filter((message) => !message.pending)
      if (cause === 'drop') {
        // It may have been stored just before the drop: the next replay will tell.
        unconfirmedRef.current = pending.map((message) => ({
          text: message.content,
          before: countUserSaying(confirmed, message.content),
        }))
      }
      updateMessages(confirmed)
      for (const message of pending) {
        // Sent again with the same text, it keeps its id: the server stores it once and answers
        // with the reply it may already have given.
        if (message.messageId) retryIdsRef.current.set(message.content, message.messageId)
        latest.current.onUnsent?.(message.content)
      }
      setUnsent(true)
      return true
    },
    [updateMessages],
  )

  useEffect(() => {
    let disposed = false
    let attempt = 0
    let retryTimer: ReturnType<typeof setTimeout> | undefined
    endedRef.current = false
    hydratedRef.current = false
    unconfirmedRef.current = []
    messagesRef.current = []
    setMessages([])
    setStatus('connecting')
    setWaiting(false)
    setError(null)
    setNotice(null)
    setUnsent(false)
    setRestored(null)
    setReconnectInMs(null)
    setReady(false)

    const started = (frame: Extract<ServerFrame, { type: 'conversation_started' }>) => {
      const server: StoredMessage[] = frame.messages ?? []
      const kept: KeptMessage[] = loadLocalCopy(config.conversationId)
      // Not resumed, yet this tab said something in it: the server no longer has any of it.
      const startedAnew = frame.resumed === false && kept.some((message) => message.sender === 'user')
      const marked = frame.restored || startedAnew ? markUnrecovered(kept, server) : kept
      const newlyLost = marked.filter((message, index) => message.lost && !kept[index].lost)
      const screen = toScreen(withLostMessages(server, marked))
      const pending = messagesRef.current.filter((message) => message.pending)
      hydratedRef.current = true
      // A resumed conversation replays everything: the server's copy wins (lost ones kept).
      if (screen.length > 0) updateMessages([...screen, ...pending])
      else saveLocalCopy(config.conversationId, messagesRef.current)
      for (const { text, before } of unconfirmedRef.current) {
        if (countUserSaying(server, text) > before) latest.current.onStoredAfterAll?.(text)
      }
      unconfirmedRef.current = []
      if (newlyLost.length > 0) {
        setRestored({
          lost: screen.filter((message) => message.lost).slice(-newlyLost.length),
          archivedAt: frame.archived_at ?? null,
          fromArchive: Boolean(frame.restored),
        })
      }
      setReady(true)
    }

    const handleFrame = (frame: ServerFrame) => {
      switch (frame.type) {
        case 'conversation_started':
          started(frame)
          break
        case 'cj_message': {
          localCounter += 1
          const message: ChatMessage = {
            id: frame.message_id ?? `cj-${localCounter}`,
            sender: 'cj',
            content: String(frame.content ?? ''),
            timestamp: frame.timestamp ?? new Date().toISOString(),
          }
          // CJ answered, so what the user sent before it was stored: no longer pending.
          const sent = messagesRef.current.map((m) => (m.pending ? { ...m, pending: false } : m))
          updateMessages(appendUnique(sent, message))
          setWaiting(false)
          break
        }
        case 'oauth_processed':
          if (frame.success) {
            // CJ's own message says the store is connected; this only tells a screen reader.
            setNotice({ kind: 'success', text: 'Your Shopify store is connected.' })
          } else {
            setWaiting(false)
            setNotice({
              kind: 'error',
              text: 'CJ could not confirm your Shopify connection. Please try connecting again.',
            })
          }
          break
        case 'conversation_ended':
          if (!endedRef.current) latest.current.onEnded?.()
          endedRef.current = true
          setStatus('ended')
          setWaiting(false)
          break
        case 'error':
          setWaiting(false)
          returnPending('error')
          setError(frame.text || 'Something went wrong. Please try again.')
          break
        default:
          break
      }
    }

    const connect = () => {
      if (disposed) return
      setReconnectInMs(null)
      const socket = factory(chatSocketUrl(config.conversationId))
      socketRef.current = socket
      socket.onopen = () => {
        if (disposed || socketRef.current !== socket) return
        attempt = 0
        setStatus(endedRef.current ? 'ended' : 'open')
        const { token, config: current } = latest.current
        sendFrame({
          type: 'start',
          workflow: current.workflow,
          conversation_id: current.conversationId,
          merchant_id: current.merchantId,
          user_id: current.userId,
          token,
        })
      }
      socket.onmessage = (event) => {
        if (disposed || socketRef.current !== socket) return
        const frame = parseServerFrame(event.data)
        if (frame) handleFrame(frame)
      }
      socket.onerror = () => {
        // A close event always follows; reconnection is handled there.
      }
      socket.onclose = () => {
        if (socketRef.current === socket) socketRef.current = null
        if (disposed) return
        setReady(false)
        if (endedRef.current) return
        returnPending('drop')
        const delay = backoffDelay(attempt)
        attempt += 1
        setStatus('reconnecting')
        setWaiting(false)
        setReconnectInMs(delay)
        retryTimer = setTimeout(connect, delay)
      }
    }

    connect()
    const pingTimer = setInterval(() => sendFrame({ type: 'ping' }), PING_INTERVAL_MS)

    return () => {
      disposed = true
      clearTimeout(retryTimer)
      clearInterval(pingTimer)
      const socket = socketRef.current
      socketRef.current = null
      if (socket) {
        socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null
        socket.close(1000, 'leaving')
      }
    }
  }, [config.conversationId, factory, sendFrame, updateMessages, returnPending])

  // After an OAuth return, tell CJ once the conversation has started on this socket.
  useEffect(() => {
    const pending = options.pendingOAuth
    if (!pending || oauthSentRef.current === pending || !ready) return
    if (
      sendFrame({
        type: 'oauth_complete',
        oauth_provider: 'shopify',
        is_new: pending.isNew,
        merchant_id: pending.merchantId,
        user_id: pending.userId,
        token: pending.token,
      })
    ) {
      oauthSentRef.current = pending
      setWaiting(true)
      latest.current.onOAuthSent?.()
    }
  }, [options.pendingOAuth, ready, sendFrame])

  // Never leave the typing dots spinning forever if CJ stays silent.
  useEffect(() => {
    if (!waiting) return
    const timer = setTimeout(() => setWaiting(false), TYPING_TIMEOUT_MS)
    return () => clearTimeout(timer)
  }, [waiting])

  const sendMessage = useCallback(
    (text: string): boolean => {
      if (endedRef.current || !text.trim()) return false
      const messageId = retryIdsRef.current.get(text) ?? newMessageId()
      if (!sendFrame({ type: 'message', text, message_id: messageId })) return false
      retryIdsRef.current.delete(text)
      localCounter += 1
      const message: ChatMessage = {
        id: `user-${localCounter}`,
        sender: 'user',
        content: text,
        timestamp: new Date().toISOString(),
        pending: true,
        messageId,
      }
      updateMessages([...messagesRef.current, message])
      setWaiting(true)
      setError(null)
      setUnsent(false)
      return true
    },
    [sendFrame, updateMessages],
  )

  const endConversation = useCallback(() => {
    if (endedRef.current) return
    sendFrame({ type: 'end_conversation' })
    // Ended from our side either way: stop reconnecting and lock the input.
    endedRef.current = true
    latest.current.onEnded?.()
    setStatus('ended')
    setWaiting(false)
  }, [sendFrame])

  const dismissError = useCallback(() => {
    setError(null)
    setUnsent(false)
  }, [])
  const dismissRestored = useCallback(() => setRestored(null), [])

  return {
    messages,
    status,
    waiting,
    error,
    notice,
    unsent,
    restored,
    reconnectInMs,
    sendMessage,
    endConversation,
    dismissError,
    dismissRestored,
  }
}
