import type { StoredMessage } from '../types'

export const WORKFLOW = 'shopify_onboarding'
export const MAX_MESSAGE_LENGTH = 8000

/** The parts of the browser WebSocket the chat uses; tests pass a fake class with this shape. */
export interface SocketLike {
  readonly readyState: number
  onopen: ((event: Event) => void) | null
  onmessage: ((event: MessageEvent) => void) | null
  onclose: ((event: CloseEvent) => void) | null
  onerror: ((event: Event) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

export type SocketFactory = (url: string) => SocketLike

export const SOCKET_OPEN = 1

export const browserSocketFactory: SocketFactory = (url) => new WebSocket(url)

/** ws(s)://host/ws/chat/{id}; the conversation id is the only thing in the address. */
export function chatSocketUrl(conversationId: string): string {
  const configured = (import.meta.env.VITE_AGENTS_WS_URL ?? '').replace(/\/+$/, '')
  const base =
    configured ||
    `${window.location.protocol === 'https:' ? 'wss:' : 'ws:'}//${window.location.host}`
  return `${base}/ws/chat/${encodeURIComponent(conversationId)}`
}

export type ClientFrame =
  | {
      type: 'start'
      workflow: string
      conversation_id: string
      merchant_id: string | null
      user_id: string | null
      token: string | null
    }
  | { type: 'message'; text: string; message_id?: string }
  | {
      type: 'oauth_complete'
      oauth_provider: 'shopify'
      is_new: boolean
      merchant_id: string | null
      user_id: string
      token: string
    }
  | { type: 'end_conversation' }
  | { type: 'ping' }

export type ServerFrame =
  | {
      type: 'conversation_started'
      conversation_id?: string
      user_id?: string | null
      workflow?: string
      resumed?: boolean
      messages?: StoredMessage[]
      /** True when Redis no longer had it and the server brought it back from the archive. */
      restored?: boolean
      /** When the restored copy was archived (ISO 8601), or null. */
      archived_at?: string | null
    }
  | { type: 'cj_message'; content: string; timestamp?: string; message_id?: string }
  | {
      type: 'oauth_processed'
      success: boolean
      is_new?: boolean
      merchant_id?: string | null
      user_id?: string | null
    }
  | { type: 'conversation_ended' }
  | { type: 'pong' }
  | { type: 'error'; text?: string }

export function parseServerFrame(data: unknown): ServerFrame | null {
  if (typeof data !== 'string') return null
  try {
    const frame: unknown = JSON.parse(data)
    if (frame && typeof frame === 'object' && typeof (frame as { type?: unknown }).type === 'string') {
      return frame as ServerFrame
    }
  } catch {
    // A frame that is not JSON is ignored.
  }
  return null
}
