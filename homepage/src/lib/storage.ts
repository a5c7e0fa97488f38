import type { ChatMessage, ConversationSummary, Session } from '../types'
import type { KeptMessage } from './messages'

// localStorage: survives tabs and restarts. The user id key holds the user id and nothing
// else (the design guide's key); the token lives under its own key.
export const USER_ID_KEY = 'hirecj_user_id'
export const TOKEN_KEY = 'hirecj_token'
export const MERCHANT_ID_KEY = 'hirecj_merchant_id'
export const SHOP_KEY = 'hirecj_shop'
// sessionStorage: one conversation per tab, so a reload (or the OAuth round trip) resumes it.
export const CONVERSATION_ID_KEY = 'hirecj_conversation_id'

function read(storage: Storage, key: string): string | null {
  try {
    const value = storage.getItem(key)
    return value === null || value === '' ? null : value
  } catch {
    return null
  }
}

function write(storage: Storage, key: string, value: string | null): void {
  try {
    if (value === null) storage.removeItem(key)
    else storage.setItem(key, value)
  } catch {
    // Storage can be unavailable (private mode, quota); the app still works for this page.
  }
}

export function saveSession(session: Session): void {
  write(localStorage, USER_ID_KEY, session.userId)
  write(localStorage, TOKEN_KEY, session.token)
  write(localStorage, MERCHANT_ID_KEY, session.merchantId)
  write(localStorage, SHOP_KEY, session.shop)
}

export function loadUserId(): string | null {
  return read(localStorage, USER_ID_KEY)
}

export function loadToken(): string | null {
  return read(localStorage, TOKEN_KEY)
}

export function loadMerchantId(): string | null {
  return read(localStorage, MERCHANT_ID_KEY)
}

/** The signed-in user, or null unless both a user id and a token are stored. */
export function loadSession(): Session | null {
  const userId = loadUserId()
  const token = loadToken()
  if (!userId || !token) return null
  return {
    userId,
    token,
    merchantId: read(localStorage, MERCHANT_ID_KEY),
    shop: read(localStorage, SHOP_KEY),
  }
}

/** Forget only the token (it was rejected); the user id stays so CJ can still greet by it. */
export function forgetToken(): void {
  write(localStorage, TOKEN_KEY, null)
}

/** Sign out: forget everything that identifies the user (and this tab's list of their chats). */
export function clearSession(): void {
  for (const key of [USER_ID_KEY, TOKEN_KEY, MERCHANT_ID_KEY, SHOP_KEY]) {
    write(localStorage, key, null)
  }
  write(sessionStorage, LIVE_CHATS_KEY, null)
}

function newUuid(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID()
  }
  // Older browsers on plain http: a v4 UUID from getRandomValues.
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** This tab's conversation id, created on first use. */
export function currentConversationId(): string {
  const saved = read(sessionStorage, CONVERSATION_ID_KEY)
  if (saved && UUID_RE.test(saved)) return saved
  return startNewConversationId()
}

export function startNewConversationId(): string {
  const id = newUuid()
  write(sessionStorage, CONVERSATION_ID_KEY, id)
  return id
}

/** Make `id` this tab's conversation (opening a past one to continue it). */
export function setCurrentConversationId(id: string): boolean {
  if (!UUID_RE.test(id)) return false
  write(sessionStorage, CONVERSATION_ID_KEY, id.toLowerCase())
  return true
}

export function isConversationId(value: string | null | undefined): value is string {
  return typeof value === 'string' && UUID_RE.test(value)
}

/** After a delete: a tab must not keep writing under a deleted id (the server refuses it). */
export function forgetConversationIfCurrent(id: string): void {
  dropLocalCopy(id)
  forgetLiveChat(id)
  if (read(sessionStorage, CONVERSATION_ID_KEY) === id) startNewConversationId()
}

// sessionStorage: this tab's own copy of what it showed of a conversation, so that a copy the
// server restored from the archive (after Redis lost it) can be compared with what was said.
export const LOCAL_COPY_PREFIX = 'hirecj_messages:'

export function saveLocalCopy(conversationId: string, messages: ChatMessage[]): void {
  const kept = messages
    .filter((message) => !message.pending)
    .map(({ sender, content, timestamp, lost }) => ({ sender, content, timestamp, ...(lost ? { lost } : {}) }))
  write(sessionStorage, LOCAL_COPY_PREFIX + conversationId, JSON.stringify(kept))
}

export function loadLocalCopy(conversationId: string): KeptMessage[] {
  const raw = read(sessionStorage, LOCAL_COPY_PREFIX + conversationId)
  if (!raw) return []
  try {
    const parsed: unknown = JSON.parse(raw)
    if (!Array.isArray(parsed)) return []
    return parsed.filter(
      (m): m is KeptMessage =>
        Boolean(m) &&
        (m.sender === 'user' || m.sender === 'cj') &&
        typeof m.content === 'string' &&
        typeof m.timestamp === 'string',
    )
  } catch {
    return []
  }
}

export function dropLocalCopy(conversationId: string): void {
  write(sessionStorage, LOCAL_COPY_PREFIX + conversationId, null)
}

// sessionStorage: this tab's recent chats that the server may not list yet, for the sidebar.
export const LIVE_CHATS_KEY = 'hirecj_live_chats'
const MAX_LIVE_CHATS = 20

interface LiveChat extends ConversationSummary {
  owner: string | null
}

function readLiveChats(): LiveChat[] {
  try {
    const parsed: unknown = JSON.parse(read(sessionStorage, LIVE_CHATS_KEY) ?? '[]')
    return Array.isArray(parsed) ? parsed.filter((row): row is LiveChat => isConversationId(row?.id)) : []
  } catch {
    return []
  }
}

function writeLiveChats(rows: LiveChat[]): void {
  write(sessionStorage, LIVE_CHATS_KEY, rows.length ? JSON.stringify(rows.slice(0, MAX_LIVE_CHATS)) : null)
}

/** The signed-in user's recent chats of this tab, newest first. */
export function loadLiveChats(): ConversationSummary[] {
  const owner = loadUserId()
  return readLiveChats()
    .filter((row) => row.owner === owner)
    .map(({ owner: _owner, ...row }) => row)
}

/** Add or update one chat (for the user signed in now); returns the user's list. */
export function rememberLiveChat(entry: ConversationSummary): ConversationSummary[] {
  const owner = loadUserId()
  const others = readLiveChats().filter((row) => row.id !== entry.id)
  const rows = [{ ...entry, owner }, ...others].sort((a, b) =>
    (b.started_at ?? '').localeCompare(a.started_at ?? ''),
  )
  writeLiveChats(rows)
  return loadLiveChats()
}

export function forgetLiveChat(id: string): void {
  writeLiveChats(readLiveChats().filter((row) => row.id !== id))
}
