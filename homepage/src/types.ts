/** What the chat window needs to open (or resume) one conversation. */
export interface ChatConfig {
  workflow: string
  conversationId: string
  merchantId: string | null
  userId: string | null
}

export type Sender = 'user' | 'cj'

/** A stored message, as the agents service replays and archives it. */
export interface StoredMessage {
  sender: Sender
  content: string
  timestamp: string
}

/**
 * A message on screen; `id` is stable for React keys and de-duplication.
 * `pending`: sent by this tab, not yet answered (it counts as sent only once CJ replies).
 * `lost`: this tab showed it, but the server's copy (restored from the archive) does not have it.
 */
export interface ChatMessage extends StoredMessage {
  id: string
  pending?: boolean
  lost?: boolean
  /** The id a message the user sent went out with (a retry reuses it). */
  messageId?: string
}

/** The signed-in user, as kept in localStorage after a completed OAuth. */
export interface Session {
  userId: string
  token: string
  merchantId: string | null
  shop: string | null
}

/** What the OAuth return carried, waiting to be sent to CJ as `oauth_complete`. */
export interface OAuthCompletion {
  isNew: boolean
  merchantId: string | null
  userId: string
  shop: string | null
  token: string
}

export interface ConversationSummary {
  id: string
  workflow: string | null
  /** The merchant's first message, condensed (null for rows archived before titles existed). */
  title?: string | null
  /** The last message, shortened. */
  preview?: string | null
  started_at: string | null
  ended_at: string | null
  message_count: number
  metadata: Record<string, unknown> | null
  /** Only in search results: the matching text, matches between ** marks. */
  snippet?: string | null
}

export interface ConversationPage {
  conversations: ConversationSummary[]
  total: number
  limit: number
  offset: number
  next_cursor: string | null
}

export interface ConversationDetail {
  id: string
  workflow: string | null
  title?: string | null
  started_at: string | null
  ended_at: string | null
  messages: StoredMessage[]
  metadata: Record<string, unknown> | null
}

export interface UserProfile {
  user_id: string
  shop_domain: string
  email: string | null
  name: string | null
  created_at: string | null
  last_seen: string | null
  stats: {
    total_conversations: number
    first_conversation: string | null
    last_conversation: string | null
  }
}

/** auth's `GET /api/v1/shopify/config`: can Connect Shopify work here, and is it the demo store? */
export interface ShopifyConfig {
  configured: boolean
  demo: boolean
}
