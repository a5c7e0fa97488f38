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
import { appendUnique, fromStored } from '../lib/messages'
import type { ChatConfig, ChatMessage, OAuthCompletion } from '../types'

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'ended'

export interface Notice {
  kind: 'success' | 'info' | 'error'
  text: string
}

export interface ChatSocketOptions {
  config: ChatConfig
  token: string | null
  pendingOAuth?: OAuthCompletion | null
  onOAuthSent?: () => void
  /** Called once when the conversation ends (by the user or the server). */
  onEnded?: () => void
  socketFactory?: SocketFactory
}

export interface ChatSocketState {
  messages: ChatMessage[]
  status: ConnectionStatus
  waiting: boolean
  error: string | null
  notice: Notice | null
  reconnectInMs: number | null
  sendMessage: (text: string) => boolean
  endConversation: () => void
  dismissError: () => void
}

const MAX_BACKOFF_MS = 15_000
const PING_INTERVAL_MS = 25_000
const TYPING_TIMEOUT_MS = 60_000

export function backoffDelay(attempt: number): number {
  return Math.min(1000 * 2 ** attempt, MAX_BACKOFF_MS)
}

let localCounter = 0

/**
 * One conversation over the agents WebSocket: sends `start` on every (re)connect, so a dropped
 * socket resumes the same conversation, and `oauth_complete` once after an OAuth return.
 */
export function useChatSocket(options: ChatSocketOptions): ChatSocketState {
  const { config } = options
  const factory = options.socketFactory ?? browserSocketFactory
  const [messages, setMessages] = useState<ChatMessage[]>([])
  const [status, setStatus] = useState<ConnectionStatus>('connecting')
  const [waiting, setWaiting] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [notice, setNotice] = useState<Notice | null>(null)
  const [reconnectInMs, setReconnectInMs] = useState<number | null>(null)
  // True once the server answered this socket's `start` with `conversation_started`.
  const [ready, setReady] = useState(false)

  const socketRef = useRef<SocketLike | null>(null)
  const endedRef = useRef(false)
  const oauthSentRef = useRef<OAuthCompletion | null>(null)
  // The socket callbacks outlive renders; read the newest props through this ref.
  const latest = useRef(options)
  latest.current = options

  const sendFrame = useCallback((frame: ClientFrame): boolean => {
    const socket = socketRef.current
    if (!socket || socket.readyState !== SOCKET_OPEN) return false
    socket.send(JSON.stringify(frame))
    return true
  }, [])

  useEffect(() => {
    let disposed = false
    let attempt = 0
    let retryTimer: ReturnType<typeof setTimeout> | undefined
    endedRef.current = false
    setMessages([])
    setStatus('connecting')
    setWaiting(false)
    setError(null)
    setNotice(null)
    setReconnectInMs(null)
    setReady(false)

    const handleFrame = (frame: ServerFrame) => {
      switch (frame.type) {
        case 'conversation_started': {
          const replay = fromStored(frame.messages ?? [])
          // A resumed conversation replays everything: the server's copy wins.
          if (replay.length > 0) setMessages(replay)
          setReady(true)
          break
        }
        case 'cj_message': {
          localCounter += 1
          const message: ChatMessage = {
            id: frame.message_id ?? `cj-${localCounter}`,
            sender: 'cj',
            content: String(frame.content ?? ''),
            timestamp: frame.timestamp ?? new Date().toISOString(),
          }
          setMessages((list) => appendUnique(list, message))
          setWaiting(false)
          break
        }
        case 'oauth_processed':
          if (frame.success) {
            setNotice({
              kind: 'success',
              text: frame.is_new
                ? 'Your Shopify store is connected. Welcome to HireCJ!'
                : 'Your Shopify store is connected. Welcome back!',
            })
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
  }, [config.conversationId, factory, sendFrame])

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
      if (!sendFrame({ type: 'message', text })) return false
      localCounter += 1
      const message: ChatMessage = {
        id: `user-${localCounter}`,
        sender: 'user',
        content: text,
        timestamp: new Date().toISOString(),
      }
      setMessages((list) => [...list, message])
      setWaiting(true)
      setError(null)
      return true
    },
    [sendFrame],
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

  const dismissError = useCallback(() => setError(null), [])

  return {
    messages,
    status,
    waiting,
    error,
    notice,
    reconnectInMs,
    sendMessage,
    endConversation,
    dismissError,
  }
}
