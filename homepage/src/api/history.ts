import type { ConversationDetail, ConversationPage, UserProfile } from '../types'
import { request, requestJson, requestNoContent } from './http'

const seg = encodeURIComponent

export const PAGE_SIZE = 20

export interface ListOptions {
  /** The previous page's `next_cursor`. */
  before?: string | null
  /** Full-text search words; results carry a `snippet`. */
  q?: string | null
  limit?: number
  signal?: AbortSignal
}

export async function listConversations(
  userId: string,
  token: string,
  options: ListOptions = {},
): Promise<ConversationPage> {
  const query = new URLSearchParams({ limit: String(options.limit ?? PAGE_SIZE) })
  if (options.before) query.set('before', options.before)
  if (options.q) query.set('q', options.q)
  const page = await requestJson<ConversationPage>(
    `/api/v1/users/${seg(userId)}/conversations?${query.toString()}`,
    { token, signal: options.signal },
  )
  return { ...page, conversations: page.conversations ?? [], next_cursor: page.next_cursor ?? null }
}

export async function getConversation(
  userId: string,
  conversationId: string,
  token: string,
  signal?: AbortSignal,
): Promise<ConversationDetail> {
  const detail = await requestJson<ConversationDetail>(
    `/api/v1/users/${seg(userId)}/conversations/${seg(conversationId)}`,
    { token, signal },
  )
  return { ...detail, messages: detail.messages ?? [] }
}

export function deleteConversation(userId: string, conversationId: string, token: string): Promise<void> {
  return requestNoContent(`/api/v1/users/${seg(userId)}/conversations/${seg(conversationId)}`, {
    token,
    method: 'DELETE',
  })
}

export function getProfile(userId: string, token: string, signal?: AbortSignal): Promise<UserProfile> {
  return requestJson<UserProfile>(`/api/v1/users/${seg(userId)}/profile`, { token, signal })
}

/** Every conversation as JSON Lines, fetched with the token in a header. */
export function exportConversations(userId: string, token: string): Promise<Blob> {
  return request(
    `/api/v1/users/${seg(userId)}/export`,
    {
      token,
      headers: { Accept: 'application/x-ndjson, application/jsonl, */*' },
      deadlineCoversBody: false,
    },
    (response) => response.blob(),
  )
}
